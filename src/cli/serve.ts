/**
 * Bottles whose host daemons live in this process: stay in the foreground, as `docker run` does,
 * serving them until Ctrl-C, SIGTERM or `claude-bottle rm` (all of them, or one by name); then
 * take each bottle down with its daemons rather than leave it unable to reach them. Forks go
 * before their golden.
 */
import type { Bottle } from '../bottle/bottle.ts';
import type { HeldLauncher } from '../bottle/launcher.ts';
import type { BottleRegistry } from '../bottle/registry.ts';
import { type BackendKind, openBackend } from './backends.ts';
import { EXIT, type Io } from './io.ts';

export async function serveBottles(io: Io, bottles: readonly Bottle[], registry: BottleRegistry, kind: BackendKind, launcher: HeldLauncher): Promise<number> {
  const live = new Map(bottles.map((b) => [b.name, b]));
  const described = bottles.map((b) => `${b.daemons?.csv ?? 'nothing'} for ${b.name}`).join(', ');
  io.notice(`serving ${described}; keep this running, Ctrl-C stops them and removes ${bottles.length === 1 ? 'the bottle' : 'the bottles'}`);

  // One removal at a time: the fake backend's state is one file under one lock.
  let queue: Promise<void> = Promise.resolve();
  const removeOne = (bottle: Bottle): Promise<void> =>
    (queue = queue.then(async () => {
      if (!live.has(bottle.name)) return;
      const forks = (await registry.forksOf(bottle.name)).filter((r) => !live.has(r.name));
      if (forks.length) {
        // Forks elsewhere depend on this golden: keep its machine, stop only its daemons.
        await (bottle.daemons as { stop?: () => Promise<void> } | undefined)?.stop?.();
        live.delete(bottle.name);
        io.notice(
          `kept ${bottle.name}: its forks ${forks.map((r) => r.name).join(', ')} depend on it; its daemons are stopped (claude-bottle rm --cascade ${bottle.name} removes them all)`,
        );
        return;
      }
      const fresh = await openBackend(kind, io);
      try {
        await bottle.reattach(fresh.engine).remove();
      } finally {
        await fresh.close();
      }
      live.delete(bottle.name);
      await registry.delete(bottle.name);
      io.notice(`stopped ${bottle.daemons?.csv ?? 'the daemons'} and removed ${bottle.name}`);
    }));

  await new Promise<void>((resolve) => {
    const all = (): void => {
      process.off('SIGINT', all);
      process.off('SIGTERM', all);
      resolve();
    };
    process.on('SIGINT', all);
    process.on('SIGTERM', all);
    void launcher.stopRequested.then(all);
    launcher.onStopOne(async (name) => {
      const bottle = live.get(name);
      if (bottle) await removeOne(bottle);
      if (live.size === 0) all();
    });
  });
  // Forks first: a golden refuses to go while they live.
  const order = [...live.values()].sort((a, b) => Number(b.forkOf !== undefined) - Number(a.forkOf !== undefined));
  for (const bottle of order) await removeOne(bottle).catch((error: unknown) => io.notice(`removing ${bottle.name} failed: ${String(error)}`));
  await queue.catch(() => undefined);
  await launcher.close();
  return EXIT.ok;
}
