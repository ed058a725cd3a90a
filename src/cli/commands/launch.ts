import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { loadAgentFile } from '../../agent/spec.ts';
import { stateRoot, writeFileAtomic } from '../../host/state.ts';
import type { Bottle } from '../../bottle/bottle.ts';
import { launch } from '../../bottle/launch.ts';
import { BottleRegistry } from '../../bottle/registry.ts';
import { prepare } from '../../plan/prepare.ts';
import { type BackendChoice, openBackend } from '../backends.ts';
import { EXIT, type Io, UsageError } from '../io.ts';

export async function launchCommand(io: Io, args: { agentFile: string | undefined; backend: BackendChoice; name?: string }): Promise<number> {
  if (!args.agentFile) throw new UsageError('launch needs an agent file: claude-bottle launch <agent-file>');
  const agent = await loadAgentFile(args.agentFile);
  io.progress(`preparing ${agent.name}…`);
  const plan = await prepare(agent, { env: io.env });
  const registry = new BottleRegistry(stateRoot(io.env));
  const backend = await openBackend(args.backend, io);
  let bottle: Bottle;
  // The plan holds the agent's env values: keep it beside the prompt, 0600, never in argv.
  let planPath = '';
  try {
    bottle = await launch(plan, {
      engine: backend.engine,
      ...(args.name ? { name: args.name } : {}),
      onStep: (step, machine) => io.progress(`${step} ${machine}`),
    });
    planPath = join(plan.stateDir, `${bottle.name}.plan.json`);
    try {
      await writeFileAtomic(planPath, `${JSON.stringify(plan, null, 2)}\n`, { mode: 0o600 });
      await registry.save({ ...bottle.toRecord({ agent: agent.name, planPath }), backend: backend.kind });
    } catch (error) {
      // A bottle nobody can find again is a leak: take it down.
      await bottle.remove().catch(() => undefined);
      await rm(planPath, { force: true });
      throw error;
    }
  } finally {
    // Saves the fake's machines and frees its lock, so other invocations can use the bottle.
    await backend.close();
  }

  io.data({
    name: bottle.name,
    backend: backend.kind,
    agent: agent.name,
    promptPath: bottle.promptPath ?? null,
    promptBytes: plan.prompt.bytes,
    skillsDir: bottle.skillsDir ?? null,
    skills: plan.skills.items.map((s) => s.name),
    daemons: bottle.daemons?.csv ?? '',
    stateDir: plan.stateDir,
  });
  io.result(
    [
      `launched ${bottle.name} (${backend.kind})`,
      `  prompt  ${bottle.promptPath ? `${bottle.promptPath} (${plan.prompt.bytes} bytes, mode 0600, uid ${plan.agent.user.uid})` : `${plan.prompt.guestPath} (empty: no --append-system-prompt-file)`}`,
      `  skills  ${bottle.skillsDir ? `${bottle.skillsDir}/{${plan.skills.items.map((s) => s.name).join(',')}}` : '(none)'}`,
      ...(bottle.daemons ? [`  daemons ${bottle.daemons.daemons.map((d) => `${d.name} ${d.url}`).join(', ')}`] : []),
      `next: claude-bottle claude ${bottle.name} -- -p "hello"   |   claude-bottle exec ${bottle.name} -- ls -la ${bottle.skillsDir ?? plan.agent.user.home}`,
    ].join('\n'),
  );
  if (!bottle.daemons) return EXIT.ok;

  // The host daemons live in this process: stay in the foreground, as `docker run` does, until
  // interrupted; then take the bottle down with them rather than leave it unable to reach them.
  io.notice(`serving ${bottle.daemons.csv} for ${bottle.name}; keep this running, Ctrl-C stops them and removes the bottle`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  const fresh = await openBackend(backend.kind, io);
  try {
    await bottle.reattach(fresh.engine).remove();
  } finally {
    await fresh.close();
  }
  await registry.delete(bottle.name);
  await rm(planPath, { force: true });
  io.notice(`stopped ${bottle.daemons.csv} and removed ${bottle.name}`);
  return EXIT.ok;
}
