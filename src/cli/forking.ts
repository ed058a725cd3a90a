/**
 * Forks through the CLI: each fork's intent is recorded before anything is made (as a launch's
 * is), then `Bottle.fork` runs, then each fork is recorded like any bottle, with its golden and
 * what it depends on. Used by `fork` and by `launch --forks`.
 */
import { BOTTLE_NAME_RULE, bottleNameProblem } from '../agent/names.ts';
import type { Bottle, BottleRecord } from '../bottle/bottle.ts';
import { ForkError } from '../bottle/fork.ts';
import type { HeldLauncher } from '../bottle/launcher.ts';
import type { BottleRegistry } from '../bottle/registry.ts';
import { newLaunchId } from '../engine/ownership.ts';
import type { Engine } from '../engine/types.ts';
import { ConfigError } from '../errors.ts';
import { ensureDir, writeFileAtomic } from '../host/state.ts';
import type { BackendKind } from './backends.ts';
import type { Io } from './io.ts';

/** The next `count` free names `<golden>-f<k>`: free in the registry and on the engine (asked side by side). */
export async function nextForkNames(golden: string, count: number, registry: BottleRegistry, engine: Engine): Promise<string[]> {
  const names: string[] = [];
  for (let k = 1; names.length < count; ) {
    const batch = Array.from({ length: count - names.length }, () => `${golden}-f${k++}`);
    const free = await Promise.all(batch.map(async (name) => !(await registry.get(name)) && !(await engine.status(name))));
    names.push(...batch.filter((_, i) => free[i]));
  }
  return names;
}

export async function forkRecorded(
  io: Io,
  registry: BottleRegistry,
  kind: BackendKind,
  golden: Bottle,
  goldenRecord: BottleRecord,
  count: number,
  launcher: HeldLauncher,
): Promise<Bottle[]> {
  const names = await nextForkNames(golden.name, count, registry, golden.engine);
  const tooLong = names.find((name) => bottleNameProblem(name) !== undefined);
  if (tooLong !== undefined) {
    const message = `${JSON.stringify(tooLong)} ${bottleNameProblem(tooLong)}: the golden's name leaves no room for its forks' <name>-f<k> (${BOTTLE_NAME_RULE})`;
    throw new ConfigError(`forks: ${message}`, [{ path: 'forks', message }]);
  }
  const launchIds = names.map(() => newLaunchId());
  const createdAt = new Date().toISOString();
  const intents: BottleRecord[] = names.map((name, k) => ({
    name,
    backend: kind,
    agent: goldenRecord.agent,
    launchId: launchIds[k] as string,
    status: 'launching',
    launcher: launcher.ref,
    runDir: registry.runDir(name),
    envKeys: [],
    createdAt,
    forkOf: { name: golden.name, ...(golden.launchId !== undefined ? { launchId: golden.launchId } : {}) },
  }));
  for (const intent of intents) await registry.save(intent);
  let forks: Bottle[];
  try {
    forks = await golden.fork(count, {
      names,
      launchIds,
      runDir: (name) => registry.runDir(name),
      onStep: (step, machine) => io.progress(`fork ${step} ${machine}`),
      onNotice: (message) => io.notice(message),
    });
  } catch (error) {
    for (const intent of intents) await registry.delete(intent.name, intent);
    // A golden the engine froze before the fork failed is thawed before its next command.
    if (golden.frozen && !goldenRecord.frozen) await registry.save({ ...goldenRecord, frozen: true });
    // Names the engine already holds are bad input (exit 3), as a launch's are.
    if (error instanceof ForkError && error.step === 'check-names' && error.cause instanceof ConfigError && error.rollbackError === undefined)
      throw error.cause;
    throw error;
  }
  for (const fork of forks) {
    // The fork's plan holds the agent's env values: 0600 in its run dir, as a launch's.
    const runDir = registry.runDir(fork.name);
    const planPath = `${runDir}/plan.json`;
    await ensureDir(runDir);
    await writeFileAtomic(planPath, `${JSON.stringify(fork.plan, null, 2)}\n`, { mode: 0o600 });
    await registry.save({
      ...fork.toRecord({ agent: goldenRecord.agent, planPath, createdAt }),
      backend: kind,
      runDir,
      ...(fork.daemons ? { launcher: launcher.ref } : {}),
    });
  }
  if (golden.frozen && !goldenRecord.frozen) await registry.save({ ...goldenRecord, frozen: true });
  return forks;
}

/** What `--json` prints of a fork. */
export function forkData(fork: Bottle): Record<string, unknown> {
  return {
    name: fork.name,
    forkOf: fork.forkOf?.name ?? null,
    launchId: fork.launchId,
    branch: fork.plan?.git?.branch ?? null,
    daemons: fork.daemons?.csv ?? '',
    network: fork.network ?? null,
  };
}
