import { bottleNameProblem, BOTTLE_NAME_RULE } from '../../agent/names.ts';
import { loadAgentFile } from '../../agent/spec.ts';
import type { Bottle } from '../../bottle/bottle.ts';
import { holdLauncher } from '../../bottle/launcher.ts';
import { launch, LaunchError, machineNameFor } from '../../bottle/launch.ts';
import { BottleRegistry } from '../../bottle/registry.ts';
import { newLaunchId } from '../../engine/ownership.ts';
import { ConfigError } from '../../errors.ts';
import { ensureDir, stateRoot, writeFileAtomic } from '../../host/state.ts';
import type { Plan } from '../../plan/plan.ts';
import { prepare } from '../../plan/prepare.ts';
import { type BackendChoice, openBackend } from '../backends.ts';
import { EXIT, type Io, UsageError } from '../io.ts';

/**
 * prepare → record the intent → launch → record the bottle. The intent (a record with status
 * `launching` and this process's liveness socket) is written before anything is created, so a
 * launcher killed at any moment leaves a record `prune` can finish the job from. A bottle with
 * host daemons keeps this process in the foreground, serving them, until Ctrl-C, SIGTERM or
 * `claude-bottle rm`.
 */
export async function launchCommand(io: Io, args: { agentFile: string | undefined; backend: BackendChoice; name?: string }): Promise<number> {
  if (!args.agentFile) throw new UsageError('launch needs an agent file: claude-bottle launch <agent-file>');
  const agent = await loadAgentFile(args.agentFile);
  const registry = new BottleRegistry(stateRoot(io.env));
  const name = args.name ?? machineNameFor(agent.name);
  const nameProblem = bottleNameProblem(name);
  if (nameProblem) throw new ConfigError(`--name: ${JSON.stringify(name)} ${nameProblem} (${BOTTLE_NAME_RULE})`, [{ path: 'name', message: nameProblem }]);
  const recorded = await registry.get(name);
  if (recorded) {
    const message = `a bottle named "${name}" is already recorded (backend ${recorded.backend}); remove it first (claude-bottle rm ${name}) or choose another name`;
    throw new ConfigError(`--name: ${message}`, [{ path: 'name', message }]);
  }
  const backend = await openBackend(args.backend, io);
  let plan: Plan;
  try {
    io.progress(`preparing ${agent.name}…`);
    // With the engine, every configuration error (this engine's included) is found before anything is written.
    plan = await prepare(agent, { env: io.env, engine: backend.engine });
  } catch (error) {
    await backend.close();
    throw error;
  }
  let bottle: Bottle;
  const launchId = newLaunchId();
  const launcher = await holdLauncher(registry.root, launchId);
  const runDir = registry.runDir(name);
  const intent = { name, backend: backend.kind, agent: agent.name, launchId, status: 'launching' as const, launcher: launcher.ref, runDir, envKeys: [], createdAt: new Date().toISOString() };
  try {
    await registry.save(intent);
    try {
      bottle = await launch(plan, { engine: backend.engine, name, launchId, runDir, onStep: (step, machine) => io.progress(`${step} ${machine}`) });
    } catch (error) {
      // The rollback removed what the launch made; the intent goes too.
      await registry.delete(name, intent);
      // A configuration the engine refused before creating anything is bad input (exit 3).
      if (error instanceof LaunchError && error.cause instanceof ConfigError && error.rollbackError === undefined) throw error.cause;
      throw error;
    }
    try {
      // The plan holds the agent's env values: it stays in the bottle's run dir, 0600, never in argv.
      const planPath = `${runDir}/plan.json`;
      await ensureDir(runDir);
      await writeFileAtomic(planPath, `${JSON.stringify(plan, null, 2)}\n`, { mode: 0o600 });
      const record = bottle.toRecord({ agent: agent.name, planPath, createdAt: intent.createdAt });
      await registry.save({ ...record, backend: backend.kind, runDir, ...(bottle.daemons ? { launcher: launcher.ref } : {}) });
    } catch (error) {
      // A bottle nobody can find again is a leak: take it down.
      await bottle.remove().catch(() => undefined);
      await registry.delete(name, intent);
      throw error;
    }
    report(io, bottle, plan, backend.kind, agent.name);
  } catch (error) {
    await launcher.close();
    throw error;
  } finally {
    // Saves the fake's machines and frees its lock, so other invocations can use the bottle.
    await backend.close();
  }
  if (!bottle.daemons) {
    await launcher.close();
    return EXIT.ok;
  }
  return serveDaemons(io, bottle, registry, backend.kind, launcher);
}

/**
 * The host daemons live in this process: stay in the foreground, as `docker run` does, until
 * interrupted or asked to stop; then take the bottle down with them rather than leave it
 * unable to reach them.
 */
async function serveDaemons(
  io: Io,
  bottle: Bottle,
  registry: BottleRegistry,
  kind: Awaited<ReturnType<typeof openBackend>>['kind'],
  launcher: Awaited<ReturnType<typeof holdLauncher>>,
): Promise<number> {
  const csv = bottle.daemons?.csv ?? '';
  io.notice(`serving ${csv} for ${bottle.name}; keep this running, Ctrl-C stops them and removes the bottle`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    void launcher.stopRequested.then(stop);
  });
  const fresh = await openBackend(kind, io);
  try {
    await bottle.reattach(fresh.engine).remove();
  } finally {
    await fresh.close();
  }
  await registry.delete(bottle.name);
  await launcher.close();
  io.notice(`stopped ${csv} and removed ${bottle.name}`);
  return EXIT.ok;
}

function report(io: Io, bottle: Bottle, plan: Plan, backend: string, agent: string): void {
  io.data({
    name: bottle.name,
    backend,
    agent,
    launchId: bottle.launchId,
    promptPath: bottle.promptPath ?? null,
    promptBytes: plan.prompt.bytes,
    skillsDir: bottle.skillsDir ?? null,
    skills: plan.skills.items.map((s) => s.name),
    daemons: bottle.daemons?.csv ?? '',
    network: bottle.network ?? null,
    stateDir: plan.stateDir,
  });
  io.result(
    [
      `launched ${bottle.name} (${backend})`,
      `  prompt  ${bottle.promptPath ? `${bottle.promptPath} (${plan.prompt.bytes} bytes, mode 0600, uid ${plan.agent.user.uid})` : `${plan.prompt.guestPath} (empty: no --append-system-prompt-file)`}`,
      `  skills  ${bottle.skillsDir ? `${bottle.skillsDir}/{${plan.skills.items.map((s) => s.name).join(',')}}` : '(none)'}`,
      ...(bottle.daemons ? [`  daemons ${bottle.daemons.daemons.map((d) => `${d.name} ${d.url}`).join(', ')}`] : []),
      `next: claude-bottle claude ${bottle.name} -- -p "hello"   |   claude-bottle exec ${bottle.name} -- ls -la ${bottle.skillsDir ?? plan.agent.user.home}`,
    ].join('\n'),
  );
}
