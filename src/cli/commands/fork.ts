import { readFile } from 'node:fs/promises';
import type { Bottle } from '../../bottle/bottle.ts';
import { forkBottle } from '../../bottle/fork.ts';
import { holdLauncher } from '../../bottle/launcher.ts';
import { launch } from '../../bottle/launch.ts';
import { newLaunchId } from '../../engine/ownership.ts';
import { ClaudeBottleError } from '../../errors.ts';
import { PlanSchema } from '../../plan/plan.ts';
import { attachReady, bottleFromRecord } from '../attach.ts';
import type { BackendKind } from '../backends.ts';
import { forkData, forkRecorded } from '../forking.ts';
import { EXIT, type Io } from '../io.ts';
import { serveBottles } from '../serve.ts';

/**
 * `fork <bottle> -n N`: N bottles from a recorded one, at the engine's cost of a fork. Forks with
 * host daemons keep this process in the foreground serving them, as `launch` does.
 */
export async function forkCommand(io: Io, args: { bottle: string | undefined; count: number }): Promise<number> {
  const { record, backend, registry } = await attachReady(io, args.bottle, { thaw: false });
  let served: Bottle[] = [];
  let launcher: Awaited<ReturnType<typeof holdLauncher>> | undefined;
  try {
    if (!record.planPath) throw new ClaudeBottleError(`bottle "${record.name}" has no plan on record: it cannot be forked (launch it again)`);
    const plan = PlanSchema.parse(JSON.parse(await readFile(record.planPath, 'utf8')));
    const golden: Bottle = bottleFromRecord(record, backend.engine, plan, {
      plan,
      frozen: record.frozen === true,
      forker: (count, options) => forkBottle(golden, count, options, launch),
    });
    launcher = await holdLauncher(registry.root, newLaunchId());
    const forks = await forkRecorded(io, registry, backend.kind as BackendKind, golden, record, args.count, launcher);
    io.data({ golden: record.name, backend: backend.kind, forks: forks.map(forkData) });
    io.result(
      [
        `forked ${record.name} into ${forks.map((f) => f.name).join(', ')} (${backend.kind})`,
        `next: claude-bottle claude ${forks[0]?.name ?? ''} -- -p "hello"`,
      ].join('\n'),
    );
    served = forks.filter((f) => f.daemons);
  } catch (error) {
    await launcher?.close();
    throw error;
  } finally {
    await backend.close();
  }
  if (!launcher) return EXIT.failure;
  if (served.length === 0) {
    await launcher.close();
    return EXIT.ok;
  }
  return serveBottles(io, served, registry, backend.kind as BackendKind, launcher);
}
