/**
 * The one place that decides whether a machine or network is ours to delete: read it back and
 * find this launch's id in its labels. Never by name, never by an error's text.
 */
import { ClaudeBottleError } from '../errors.ts';
import { BOTTLE_LABEL, type Engine, FORK_OF_LABEL, LAUNCH_LABEL } from './types.ts';

/** What became of a resource we meant to delete. `foreign`: it exists but is not this launch's; it was left alone. */
export type Removal = 'removed' | 'absent' | 'foreign';

export const LAUNCH_ID = /^[a-z0-9]{8,40}$/;

/** A fresh launch id: 16 hex digits. */
export function newLaunchId(): string {
  // node:crypto loaded on first use: `exec` imports this module (through the bottle) but never makes an id.
  return process.getBuiltinModule('node:crypto').randomBytes(8).toString('hex');
}

export function checkLaunchId(id: string): string {
  if (!LAUNCH_ID.test(id)) throw new ClaudeBottleError(`invalid launch id ${JSON.stringify(id)}: 8-40 of [a-z0-9]`);
  return id;
}

/** The labels that mark a resource as made by launch `launchId`. */
export function ownLabels(launchId: string): Record<string, string> {
  return { [BOTTLE_LABEL]: '1', [LAUNCH_LABEL]: checkLaunchId(launchId) };
}

/**
 * Who owns what: a launch id proves it (the only proof for rollback and `rm`); `anyBottle`
 * accepts any machine labelled `claude-bottle=1` (records written before launch ids existed).
 * `cloneOf`: a fork's golden's launch id. Where the engine's clones inherit the golden's labels
 * (smolvm), the fork's machine carries that id and no fork-of label; its own networks still carry
 * `launchId`.
 */
export type Owner = { readonly launchId: string; readonly cloneOf?: string } | { readonly anyBottle: true };

/** The owner a bottle's record (or handle) names: its launch id, and its golden's if it is a fork. */
export function ownerOf(ids: { readonly launchId?: string | undefined; readonly forkOf?: { readonly launchId?: string | undefined } | undefined }): Owner {
  if (ids.launchId === undefined) return { anyBottle: true };
  const cloneOf = ids.forkOf?.launchId;
  return cloneOf !== undefined ? { launchId: ids.launchId, cloneOf } : { launchId: ids.launchId };
}

/** Whether these labels (read back from the engine) are `owner`'s. */
export function isOwnedBy(owner: Owner, labels: Readonly<Record<string, string>>): boolean {
  if (!('launchId' in owner)) return labels[BOTTLE_LABEL] === '1';
  const id = labels[LAUNCH_LABEL];
  return id === owner.launchId || (owner.cloneOf !== undefined && id === owner.cloneOf && labels[FORK_OF_LABEL] === undefined);
}

/** Deletes machine `name` only if it carries `owner`'s labels; deletes it by id, so a swapped-in namesake is spared. */
export async function removeOwnedMachine(engine: Engine, name: string, owner: Owner): Promise<Removal> {
  const info = await engine.status(name);
  if (!info) return 'absent';
  if (!isOwnedBy(owner, info.labels)) return 'foreign';
  await engine.remove(info.id);
  return 'removed';
}

/** The same for a network a host route created. An engine without networks has none to remove. */
export async function removeOwnedNetwork(engine: Engine, name: string, owner: Owner): Promise<Removal> {
  if (!engine.networkStatus || !engine.removeNetwork) return 'absent';
  const info = await engine.networkStatus(name);
  if (!info) return 'absent';
  // A clone inherits its golden's machine labels, never a network: only the launch's own id proves one.
  if (!isOwnedBy('launchId' in owner ? { launchId: owner.launchId } : owner, info.labels)) return 'foreign';
  await engine.removeNetwork(info.id);
  return 'removed';
}

/**
 * A host route's networks, each read back first, then what the route set up outside them (a
 * firewall chain), also when a network was removed behind our back or its removal failed
 * half-way. The names of the networks removed.
 */
export async function removeOwnedRoute(engine: Engine, networks: Iterable<string>, owner: Owner): Promise<string[]> {
  const removed: string[] = [];
  try {
    for (const name of networks) if ((await removeOwnedNetwork(engine, name, owner)) === 'removed') removed.push(name);
  } finally {
    if ('launchId' in owner) await engine.removeRouteLeftovers?.(owner.launchId);
  }
  return removed;
}
