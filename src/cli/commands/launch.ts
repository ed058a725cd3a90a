import { bottleNameProblem, BOTTLE_NAME_RULE } from '../../agent/names.ts';
import { loadAgentFile } from '../../agent/spec.ts';
import type { Bottle } from '../../bottle/bottle.ts';
import { holdLauncher } from '../../bottle/launcher.ts';
import { launch, LaunchError, machineNameFor, NameTakenError } from '../../bottle/launch.ts';
import { BottleRegistry } from '../../bottle/registry.ts';
import { newLaunchId } from '../../engine/ownership.ts';
import { BOTTLE_LABEL } from '../../engine/types.ts';
import { ConfigError } from '../../errors.ts';
import { ensureDir, stateRoot, writeFileAtomic } from '../../host/state.ts';
import type { Plan } from '../../plan/plan.ts';
import { prepare } from '../../plan/prepare.ts';
import { type BackendChoice, openBackend } from '../backends.ts';
import { forkData, forkRecorded } from '../forking.ts';
import { serveBottles } from '../serve.ts';
import { EXIT, type Io, UsageError } from '../io.ts';

/**
 * prepare → record the intent → launch → record the bottle. The intent (a record with status
 * `launching` and this process's liveness socket) is written before anything is created, so a
 * launcher killed at any moment leaves a record `prune` can finish the job from. A bottle with
 * host daemons keeps this process in the foreground, serving them, until Ctrl-C, SIGTERM or
 * `claude-bottle rm`.
 */
export async function launchCommand(io: Io, args: { agentFile: string | undefined; backend: BackendChoice; name?: string; forks?: number }): Promise<number> {
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
  if (args.forks !== undefined) {
    const problem = bottleNameProblem(`${name}-f${args.forks}`);
    if (problem) {
      const message = `${JSON.stringify(name)} leaves no room for its forks' names ${name}-f<k>: ${problem} (${BOTTLE_NAME_RULE})`;
      throw new ConfigError(`--forks: ${message}`, [{ path: 'forks', message }]);
    }
  }
  const backend = await openBackend(args.backend, io);
  let plan: Plan;
  try {
    // A name the engine already holds is refused before prepare writes anything (a generated one is checked by launch).
    const taken = args.name !== undefined ? await backend.engine.status(name) : undefined;
    if (taken) throw new NameTakenError(name, taken.labels[BOTTLE_LABEL] === '1' ? 'ours' : 'foreign');
    io.progress(`preparing ${agent.name}…`);
    // With the engine, every configuration error (this engine's included) is found before anything is written.
    plan = await prepare(agent, { env: io.env, engine: backend.engine });
  } catch (error) {
    await backend.close();
    throw error;
  }
  let bottle: Bottle;
  let forks: Bottle[] = [];
  const launchId = newLaunchId();
  const launcher = await holdLauncher(registry.root, launchId);
  const runDir = registry.runDir(name);
  const intent = {
    name,
    backend: backend.kind,
    agent: agent.name,
    launchId,
    status: 'launching' as const,
    launcher: launcher.ref,
    runDir,
    envKeys: [],
    createdAt: new Date().toISOString(),
  };
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
    if (args.forks !== undefined) {
      const record = await registry.get(name);
      try {
        if (record) forks = await forkRecorded(io, registry, backend.kind, bottle, record, args.forks, launcher);
      } catch (error) {
        // launch --forks is one request: a failed fork takes its golden down too.
        await bottle.remove({ cascade: true }).catch(() => undefined);
        await registry.delete(name);
        throw error;
      }
    }
    report(io, bottle, plan, backend.kind, agent.name, forks);
  } catch (error) {
    await launcher.close();
    throw error;
  } finally {
    // Saves the fake's machines and frees its lock, so other invocations can use the bottle.
    await backend.close();
  }
  const served = [bottle, ...forks].filter((b) => b.daemons);
  if (served.length === 0) {
    await launcher.close();
    return EXIT.ok;
  }
  return serveBottles(io, served, registry, backend.kind, launcher);
}

function report(io: Io, bottle: Bottle, plan: Plan, backend: string, agent: string, forks: readonly Bottle[]): void {
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
    ...(forks.length ? { forks: forks.map(forkData) } : {}),
  });
  io.result(
    [
      `launched ${bottle.name} (${backend})`,
      `  prompt  ${bottle.promptPath ? `${bottle.promptPath} (${plan.prompt.bytes} bytes, mode 0600, uid ${plan.agent.user.uid})` : `${plan.prompt.guestPath} (empty: no --append-system-prompt-file)`}`,
      `  skills  ${bottle.skillsDir ? `${bottle.skillsDir}/{${plan.skills.items.map((s) => s.name).join(',')}}` : '(none)'}`,
      ...(bottle.daemons ? [`  daemons ${bottle.daemons.daemons.map((d) => `${d.name} ${d.url}`).join(', ')}`] : []),
      ...(forks.length ? [`  forks   ${forks.map((f) => f.name).join(', ')}`] : []),
      `next: claude-bottle claude ${bottle.name} -- -p "hello"   |   claude-bottle exec ${bottle.name} -- ls -la ${bottle.skillsDir ?? plan.agent.user.home}`,
    ].join('\n'),
  );
}
