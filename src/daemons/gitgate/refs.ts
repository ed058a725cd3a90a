/**
 * Which refs the gate serves, and the git config that makes upload-pack and receive-pack see no
 * others. `hideRefs` entries are ref-name prefixes at a `/` boundary, later entries win: hide
 * `refs`, then un-hide each served prefix. A fetch in protocol v0 (the only one the gate speaks)
 * may want only objects reachable from a ref it was shown, so a hidden ref's commits, and
 * commits no ref reaches, cannot be fetched by id.
 */
export const DEFAULT_SERVED_REFS = ['refs/heads/*', 'refs/tags/*'] as const;

/** Why `pattern` is not a served-ref pattern (`refs/heads/*`, `refs/tags/v1`, `refs/heads/release/*`), or undefined. */
export function servedRefProblem(pattern: string): string | undefined {
  const prefix = refPrefix(pattern);
  if (!prefix.startsWith('refs/') || prefix.length <= 'refs/'.length) return 'must start with "refs/" and name something under it';
  if (!/^[A-Za-z0-9._/-]+$/.test(prefix)) return 'has a character other than letters, digits, ".", "_", "-", "/" (and a trailing "/*")';
  if (prefix.includes('//') || prefix.split('/').some((part) => part === '' || part.startsWith('.') || part.endsWith('.lock'))) {
    return 'has an empty part, a part starting with "." or ending with ".lock"';
  }
  return undefined;
}

/** `refs/heads/*` → `refs/heads`: the prefix form `hideRefs` takes. */
export function refPrefix(pattern: string): string {
  return pattern.replace(/\/\*$/, '').replace(/\/+$/, '');
}

/** Whether `ref` is under one of `prefixes` (a `/` boundary, as hideRefs matches). */
export function isServed(ref: string, prefixes: readonly string[]): boolean {
  return prefixes.some((p) => ref === p || ref.startsWith(`${p}/`));
}

/** `-c key=value` pairs hiding every ref but `served` from `section` (`uploadpack` or `receive`). */
export function hideRefsConfig(section: 'uploadpack' | 'receive', served: readonly string[], hideHead: boolean): string[] {
  const entries = ['refs', ...served.map((p) => `!${p}`), ...(hideHead ? ['HEAD'] : [])];
  return entries.flatMap((value) => ['-c', `${section}.hideRefs=${value}`]);
}

/** The prefix a bottle pushes under, as a served prefix: `bottle/reviewer/` → `refs/heads/bottle/reviewer`. */
export function pushPrefixRef(branchPrefix: string): string {
  return `refs/heads/${branchPrefix}`.replace(/\/+$/, '');
}
