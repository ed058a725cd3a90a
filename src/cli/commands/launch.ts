import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { loadAgentFile } from '../../agent/spec.ts';
import { stateRoot, writeFileAtomic } from '../../agent/state.ts';
import { BottleRegistry } from '../../bottle/registry.ts';
import { launch } from '../../bottle/launch.ts';
import { plannedDaemons } from '../../plan/plan.ts';
import { prepare } from '../../plan/prepare.ts';
import { type BackendChoice, openBackend } from '../backends.ts';
import { NotImplemented } from '../../errors.ts';
import { EXIT, type Io, UsageError } from '../io.ts';

export async function launchCommand(io: Io, args: { agentFile: string | undefined; backend: BackendChoice; name?: string }): Promise<number> {
  if (!args.agentFile) throw new UsageError('launch needs an agent file: claude-bottle launch <agent-file>');
  const agent = await loadAgentFile(args.agentFile);
  io.progress(`preparing ${agent.name}…`);
  const daemons = plannedDaemons({ proxy: agent.egress?.proxy ? agent.egress : undefined, git: agent.git, supervise: agent.supervise });
  if (daemons.length) {
    // The daemons run in the launching process and would die with it when `launch` returns.
    throw new NotImplemented(
      'CLI launch of agents with host daemons',
      `${daemons.join(', ')} (from egress/git/supervise) must outlive the launch; use the SDK, where launch() keeps them until bottle.remove()`,
    );
  }
  const plan = await prepare(agent, { env: io.env });
  const backend = await openBackend(args.backend, io);
  try {
    const bottle = await launch(plan, {
      engine: backend.engine,
      ...(args.name ? { name: args.name } : {}),
      onStep: (step, machine) => io.progress(`${step} ${machine}`),
    });
    // The plan holds the agent's env values: keep it beside the prompt, 0600, never in argv.
    const planPath = join(plan.stateDir, `${bottle.name}.plan.json`);
    try {
      await writeFileAtomic(planPath, `${JSON.stringify(plan, null, 2)}\n`, { mode: 0o600 });
      const record = bottle.toRecord({ agent: agent.name, planPath });
      await new BottleRegistry(stateRoot(io.env)).save({ ...record, backend: backend.kind });
    } catch (error) {
      // A bottle nobody can find again is a leak: take it down.
      await bottle.remove().catch(() => undefined);
      await rm(planPath, { force: true });
      throw error;
    }
    io.data({
      name: bottle.name,
      backend: backend.kind,
      agent: agent.name,
      promptPath: bottle.promptPath ?? null,
      promptBytes: plan.prompt.bytes,
      skillsDir: bottle.skillsDir ?? null,
      skills: plan.skills.items.map((s) => s.name),
      stateDir: plan.stateDir,
    });
    io.result(
      [
        `launched ${bottle.name} (${backend.kind})`,
        `  prompt  ${bottle.promptPath ? `${bottle.promptPath} (${plan.prompt.bytes} bytes, mode 0600, uid ${plan.agent.user.uid})` : `${plan.prompt.guestPath} (empty: no --append-system-prompt-file)`}`,
        `  skills  ${bottle.skillsDir ? `${bottle.skillsDir}/{${plan.skills.items.map((s) => s.name).join(',')}}` : '(none)'}`,
        `next: claude-bottle claude ${bottle.name} -- -p "hello"   |   claude-bottle exec ${bottle.name} -- ls -la ${bottle.skillsDir ?? plan.agent.user.home}`,
      ].join('\n'),
    );
    return EXIT.ok;
  } finally {
    await backend.close();
  }
}
