/**
 * `provisionGit`: clone the plan's repository into the guest workspace through the git gate, in
 * one exec as the guest user. The clone's `origin` is the gate; the agent's identity is set in
 * the clone's own config; the checked-out branch is `<prefix>work`, so `git push` (or
 * `git push -u origin HEAD`) lands inside the branches the gate accepts.
 *
 * The workspace's parent must be writable by the guest user (the default, `<home>/workspace`, is).
 */
import type { Engine } from '../engine/types.ts';
import type { Plan } from '../plan/plan.ts';
import { ProvisionError } from './error.ts';

/** `$1` gate URL, `$2` workspace, `$3` name, `$4` email, `$5` branch. */
export const GIT_PROVISION_SCRIPT = [
  'set -e',
  'git clone -q -- "$1" "$2"',
  'cd "$2"',
  'git config user.name "$3"',
  'git config user.email "$4"',
  // A first `git push` on the new branch sets its upstream by itself (git ≥ 2.37; ignored before).
  'git config push.autoSetupRemote true',
  'git checkout -q -b "$5"',
].join('\n');

export function gitProvisionArgv(plan: Plan, gateUrl: string): string[] {
  if (!plan.git) throw new ProvisionError('git: the plan has no git section');
  const { workspace, name, email, branch } = plan.git;
  return ['sh', '-c', GIT_PROVISION_SCRIPT, 'sh', gateUrl, workspace, name, email, branch];
}

/** Returns the workspace path, or undefined when the plan has no git section. */
export async function provisionGit(engine: Engine, machine: string, plan: Plan, gateUrl: string): Promise<string | undefined> {
  if (!plan.git) return undefined;
  const { uid, gid } = plan.agent.user;
  const result = await engine.exec(machine, gitProvisionArgv(plan, gateUrl), {
    user: { uid, gid },
    // Never wait on a credential prompt: the gate asks for none.
    env: { GIT_TERMINAL_PROMPT: '0' },
  });
  if (result.exitCode !== 0) throw new ProvisionError(`git: cloning ${gateUrl} into ${plan.git.workspace} failed`, result);
  return plan.git.workspace;
}
