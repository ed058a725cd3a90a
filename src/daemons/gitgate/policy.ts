/**
 * What the gate lets a bottle push: new commits on branches under `refs/heads/<prefix>`, and
 * nothing else. Deletions and refs outside the prefix are refused here, before receive-pack
 * sees the request; force pushes are refused by receive-pack itself
 * (`receive.denyNonFastForwards`), which is the one that has the object graph.
 */
import { ZERO_OID, type RefCommand } from './pktline.ts';

export const GATE_NAME = 'claude-bottle git gate';

/** `bottle/<slug>/`: the default branch prefix of an agent. */
export function defaultBranchPrefix(slug: string): string {
  return `bottle/${slug}/`;
}

/**
 * Why `prefix` cannot be a branch prefix, or undefined. A prefix is the start of a branch name:
 * `/`-separated parts of letters, digits, `.`, `_` and `-`, none starting with `.` or ending
 * with `.lock`, usually ending with `/` (`bottle/reviewer/`).
 */
export function branchPrefixProblem(prefix: string): string | undefined {
  if (prefix.length === 0) return 'is empty';
  if (prefix.length > 200) return 'is longer than 200 characters';
  if (!/^[A-Za-z0-9._/-]+$/.test(prefix)) return 'has a character other than letters, digits, ".", "_", "-" and "/"';
  if (prefix.startsWith('/')) return 'starts with "/"';
  if (prefix.includes('//')) return 'has an empty part ("//")';
  if (prefix.includes('..')) return 'has ".."';
  const parts = prefix.split('/');
  if (parts.some((part) => part.startsWith('.'))) return 'has a part starting with "."';
  if (parts.slice(0, -1).some((part) => part.endsWith('.lock'))) return 'has a part ending with ".lock"';
  if (prefix.startsWith('-')) return 'starts with "-"';
  return undefined;
}

/** Why the gate refuses this update, or undefined when it may go on to receive-pack. */
export function refusal(command: RefCommand, prefix: string): string | undefined {
  const allowed = `refs/heads/${prefix}`;
  if (ZERO_OID.test(command.new)) return `${GATE_NAME}: deleting refs is not allowed`;
  if (!command.ref.startsWith(allowed) || command.ref.length === allowed.length) {
    return `${GATE_NAME}: only branches ${prefix}* may be pushed`;
  }
  return undefined;
}
