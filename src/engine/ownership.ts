/**
 * The one place that decides whether a machine or network is ours to delete: read it back and
 * find this launch's id in its labels. Never by name, never by an error's text.
 */
import { ClaudeBottleError } from '../errors.ts';
import { BOTTLE_LABEL, type Engine, LAUNCH_LABEL } from './types.ts';

/** What became of a resource we meant to delete. `foreign`: it exists but is not this launch's; it was left alone. */
export type Removal = 'removed' | 'absent' | 'foreign';

const LAUNCH_ID = /^[a-z0-9]{8,40}$/;

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
 */
export type Owner = { readonly launchId: string } | { readonly anyBottle: true };

function owns(owner: Owner, labels: Readonly<Record<string, string>>): boolean {
  if ('launchId' in owner) return labels[LAUNCH_LABEL] === owner.launchId;
  return labels[BOTTLE_LABEL] === '1';
}

/** Deletes machine `name` only if it carries `owner`'s labels; deletes it by id, so a swapped-in namesake is spared. */
export async function removeOwnedMachine(engine: Engine, name: string, owner: Owner): Promise<Removal> {
  const info = await engine.status(name);
  if (!info) return 'absent';
  if (!owns(owner, info.labels)) return 'foreign';
  await engine.remove(info.id);
  return 'removed';
}

/** The same for a network a host route created. An engine without networks has none to remove. */
export async function removeOwnedNetwork(engine: Engine, name: string, owner: Owner): Promise<Removal> {
  if (!engine.networkStatus || !engine.removeNetwork) return 'absent';
  const info = await engine.networkStatus(name);
  if (!info) return 'absent';
  if (!owns(owner, info.labels)) return 'foreign';
  await engine.removeNetwork(info.id);
  return 'removed';
}
