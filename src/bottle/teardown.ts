/**
 * Taking a recorded bottle down, wherever its launch got to: the machine and every network
 * labelled with its launch id (each read back first), then its host files and record. Used by
 * `rm`, and by `prune` for launches whose launcher died.
 */
import { rm } from 'node:fs/promises';
import { type Owner, type Removal, removeOwnedMachine, removeOwnedNetwork } from '../engine/ownership.ts';
import { type Engine, LAUNCH_LABEL } from '../engine/types.ts';
import type { BottleRecord } from './bottle.ts';
import type { BottleRegistry } from './registry.ts';

export interface Teardown {
  readonly machine: Removal;
  /** Networks removed (names). */
  readonly networks: readonly string[];
}

export function ownerOf(record: Pick<BottleRecord, 'launchId'>): Owner {
  return record.launchId !== undefined ? { launchId: record.launchId } : { anyBottle: true };
}

export async function teardownRecorded(engine: Engine, registry: BottleRegistry, record: BottleRecord): Promise<Teardown> {
  const owner = ownerOf(record);
  const machine = await removeOwnedMachine(engine, record.name, owner);
  const networks: string[] = [];
  const names = new Set<string>(record.network !== undefined ? [record.network] : []);
  // A launcher killed before it recorded its network still labelled it with the launch id.
  if (record.launchId !== undefined && engine.listNetworks) {
    for (const n of await engine.listNetworks({ [LAUNCH_LABEL]: record.launchId })) names.add(n.name);
  }
  for (const name of names) if ((await removeOwnedNetwork(engine, name, owner)) === 'removed') networks.push(name);
  // What the route set up outside its network (Docker: the launch's firewall chain), even if the network went first.
  if (record.launchId !== undefined) await engine.removeRouteLeftovers?.(record.launchId);
  await registry.delete(record.name, record);
  if (record.launcher?.socket) await rm(record.launcher.socket, { force: true });
  return { machine, networks };
}
