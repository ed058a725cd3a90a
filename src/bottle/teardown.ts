/**
 * Taking a recorded bottle down, wherever its launch got to: the machine and every network
 * labelled with its launch id (each read back first), then its host files and record. Used by
 * `rm`, and by `prune` for launches whose launcher died.
 */
import { rm } from 'node:fs/promises';
import { ownerOf, type Removal, removeOwnedMachine, removeOwnedRoute } from '../engine/ownership.ts';
import { type Engine, LAUNCH_LABEL } from '../engine/types.ts';
import type { BottleRecord } from './bottle.ts';
import { isLauncherSocket, launcherAlive } from './launcher.ts';
import type { BottleRegistry } from './registry.ts';

export interface Teardown {
  readonly machine: Removal;
  /** Networks removed (names). */
  readonly networks: readonly string[];
}

export async function teardownRecorded(engine: Engine, registry: BottleRegistry, record: BottleRecord): Promise<Teardown> {
  const owner = ownerOf(record);
  const machine = await removeOwnedMachine(engine, record.name, owner);
  const names = new Set<string>(record.network !== undefined ? [record.network] : []);
  // A launcher killed before it recorded its network still labelled it with the launch id.
  if (record.launchId !== undefined && engine.listNetworks) {
    for (const n of await engine.listNetworks({ [LAUNCH_LABEL]: record.launchId })) names.add(n.name);
  }
  const networks = await removeOwnedRoute(engine, names, owner);
  await registry.delete(record.name, record);
  // A dead launcher's socket file: a live one removes its own on exit, and may still serve the
  // golden and other forks. Only where launchers put theirs (the path is read from a record).
  const launcher = record.launcher;
  if (launcher?.socket !== undefined && isLauncherSocket(registry.root, launcher.socket) && !(await launcherAlive(launcher))) {
    await rm(launcher.socket, { force: true });
  }
  return { machine, networks };
}
