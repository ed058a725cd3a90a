import { BottleHasForksError, type BottleRecord } from '../../bottle/bottle.ts';
import { askLauncherToStop, launcherAlive } from '../../bottle/launcher.ts';
import type { BottleRegistry } from '../../bottle/registry.ts';
import { teardownRecorded } from '../../bottle/teardown.ts';
import { findRecord } from '../attach.ts';
import { type BackendKind, openBackend } from '../backends.ts';
import { EXIT, type Io } from '../io.ts';

/**
 * Removes a recorded bottle: a foreground launch still serving its daemons is asked to take it
 * down itself; then whatever remains (the machine, the launch's networks, its host files and
 * record) goes, each machine and network only after its launch label is read back. A golden
 * with live forks is refused unless `cascade`, which removes the forks first; a fork's base (an
 * image committed for it) goes with the last fork.
 */
export async function rmCommand(io: Io, args: { bottle: string | undefined; cascade?: boolean }): Promise<number> {
  const { record, registry } = await findRecord(io, args.bottle);
  const forks = await registry.forksOf(record.name);
  if (forks.length && !args.cascade) {
    throw new BottleHasForksError(
      record.name,
      forks.map((f) => f.name),
      `rm --cascade ${record.name}`,
    );
  }
  const removed: Record<string, unknown>[] = [];
  for (const fork of forks) removed.push(await removeRecorded(io, registry, fork, true));
  removed.push(await removeRecorded(io, registry, record, false));
  const main = removed.at(-1) as { machine: string; networks: string[] };
  io.data({ name: record.name, removed: true, ...main, ...(forks.length ? { forks: removed.slice(0, -1) } : {}) });
  const said = (r: Record<string, unknown>, what: string): string =>
    r.machine === 'foreign' ? `dropped ${what}'s record; the machine of that name is not it (left untouched)` : `removed ${what}`;
  io.result(
    [
      ...removed.slice(0, -1).map((r) => said(r, `fork ${String(r.name)}`)),
      `${said(main, record.name)}${main.networks.length ? ` and network ${main.networks.join(', ')}` : ''}`,
    ].join('\n'),
  );
  return EXIT.ok;
}

async function removeRecorded(io: Io, registry: BottleRegistry, record: BottleRecord, asFork: boolean): Promise<Record<string, unknown>> {
  // Before the backend is opened: the embedded fake's state lock would keep the launcher from removing the bottle.
  if (record.launcher && (await launcherAlive(record.launcher))) {
    io.progress(`asking the launcher (pid ${record.launcher.pid}) to stop ${record.name}…`);
    // A launcher may serve several bottles (a golden and its forks): ask for this one by name.
    if (!(await askLauncherToStop(record.launcher, 60_000, record.name)))
      io.notice(`the launcher of ${record.name} did not stop in time; removing the bottle anyway`);
  }
  const backend = await openBackend(record.backend as BackendKind, io);
  try {
    const done = await teardownRecorded(backend.engine, registry, record);
    if (done.machine === 'foreign') io.notice(`a machine named ${record.name} exists but is not this bottle (its launch label differs): left untouched`);
    // An image committed for forks goes with the last of them (the engine checks none is left).
    const base = record.forkBase ? await backend.engine.removeForkBase?.(record.forkBase) : undefined;
    return { name: record.name, machine: done.machine, networks: done.networks, ...(asFork ? { fork: true } : {}), ...(base ? { forkBase: base } : {}) };
  } finally {
    await backend.close();
  }
}
