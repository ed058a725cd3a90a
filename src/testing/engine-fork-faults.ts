/**
 * The engine contract's fault sweep inside `Engine.fork`: the backend contract fails whole Engine
 * calls, but an engine's fork is several CLI calls of its own (docker/podman: the commit, each
 * clone's create and start; smolvm: `machine start --forkable`, a `machine fork` per clone). Here
 * the k-th transport call of `fork(golden, clones)` fails, for k = 1, 2, … until the fork makes
 * fewer calls than k and succeeds. Each failed fork must reject with an EngineCommandError (the
 * injected failure or one it caused), leave no clone and no fork base, and leave the golden
 * running commands, or `frozen` where the engine freezes fork bases, then running commands after
 * a stop and a start (what `Engine.fork` promises, and what `Bottle` does to thaw it).
 */
import { newLaunchId, ownLabels } from '../engine/ownership.ts';
import { type Engine, FORK_OF_LABEL, type ForkBase, type ForkClone, type ForkResult, type MachineConfig } from '../engine/types.ts';
import { EngineCommandError } from '../errors.ts';
import type { TransportFaults } from './doubles.ts';
import { expect } from './vitest.ts';

/** More transport calls than a fork of two makes on any engine: the sweep fails there rather than run on. */
const MAX_FORK_CALLS = 40;

export async function forkFaultSweep(
  engine: Engine,
  faults: TransportFaults,
  calls: (() => readonly (readonly string[])[]) | undefined,
  golden: MachineConfig,
  cloneNames: readonly string[],
  runLabels: Readonly<Record<string, string>>,
): Promise<void> {
  const fork = engine.fork?.bind(engine);
  if (!fork) throw new Error(`engine contract: the ${engine.kind} engine declares fork but has no fork()`);
  // Launch ids, as the SDK gives them: what lets an engine prove a clone it made is its own.
  const labels = { ...runLabels, ...ownLabels(newLaunchId()) };
  await engine.create({ ...golden, labels: { ...golden.labels, ...labels } });
  await engine.start(golden.name);
  const clones: ForkClone[] = cloneNames.map((name) => ({
    name,
    labels: { ...runLabels, role: name, ...ownLabels(newLaunchId()), [FORK_OF_LABEL]: golden.name },
    network: golden.network,
  }));
  const forkBases = async (): Promise<ForkBase[]> => ((await engine.listForkBases?.(labels)) ?? []).map((b) => b.base);

  try {
    let k = 1;
    for (; ; k++) {
      if (k > MAX_FORK_CALLS) throw new Error(`a fork of ${clones.length} still fails with a fault at transport call ${k}: it makes too many calls to sweep`);
      const from = calls?.().length ?? 0;
      faults.injectFault(k);
      const outcome = await fork(golden.name, clones, { labels }).then(
        (result): { result: ForkResult } => ({ result }),
        (error: unknown) => ({ error }),
      );
      const faulted = calls?.()[from + k - 1];
      const at = `fault at fork transport call ${k} (${faulted ? faulted.join(' ') : calls ? 'never made' : 'argv not recorded'})`;
      if ('result' in outcome) {
        // The fork made fewer calls than k: the fault never fired, and stays armed until cleared.
        faults.disarm();
        if (calls) expect(calls().length - from, at).toBeLessThan(k);
        for (const clone of cloneNames) expect((await engine.status(clone))?.state, clone).toBe('running');
        break;
      }
      const { error } = outcome;
      expect(error, at).toBeInstanceOf(EngineCommandError);
      if (faulted) expect(causedBy(error, faulted), `${at}: ${String(error)}`).toBe(true);
      for (const clone of cloneNames) expect(await engine.status(clone), `${clone} after a ${at}`).toBeUndefined();
      expect(await forkBases(), `fork bases after a ${at}`).toEqual([]);
      const left = await engine.status(golden.name);
      expect(left?.state, `the golden after a ${at}`).toMatch(/^(running|frozen)$/);
      // A frozen golden (smolvm's fork base) is thawed as Bottle.thaw does: a stop and a start.
      if (left?.state === 'frozen') {
        await engine.stop(golden.name);
        await engine.start(golden.name);
      }
      expect((await engine.exec(golden.name, ['true'])).exitCode, `the golden after a ${at}`).toBe(0);
    }
    // At least the fork's first call was faulted.
    expect(k).toBeGreaterThan(1);
  } finally {
    faults.disarm();
    // The clones before their fork base (and, on smolvm, before the golden the suite removes).
    for (const clone of cloneNames) await engine.remove(clone).catch(() => undefined);
    for (const base of await forkBases().catch(() => [])) await engine.removeForkBase?.(base).catch(() => undefined);
  }
  expect(await forkBases(), 'fork bases after the sweep').toEqual([]);
}

/** Whether `error`, or an error in its cause chain, is an engine failure of exactly this argv. */
function causedBy(error: unknown, argv: readonly string[]): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth++) {
    if (e instanceof EngineCommandError && e.argv.length === argv.length && e.argv.every((a, i) => a === argv[i])) return true;
  }
  return false;
}
