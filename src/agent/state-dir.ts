import { join } from 'node:path';
import { ConfigError } from '../errors.ts';
import { type Env, hostHome, stateRoot } from '../host/state.ts';
import { AGENT_NAME_RULE, agentNameProblem } from './names.ts';

/** `<state root>/agents/<slug>`: the agent's private host state (its prompt, plans, proxy configs). */
export function agentStateDir(slug: string, env: Env = process.env, homedir: string = hostHome(env)): string {
  const problem = agentNameProblem(slug);
  if (problem) {
    const message = `${JSON.stringify(slug)} is not a valid agent name: it ${problem} (${AGENT_NAME_RULE})`;
    throw new ConfigError(`slug: ${message}`, [{ path: 'slug', message }]);
  }
  return join(stateRoot(env, homedir), 'agents', slug);
}
