/** File helpers the applets share: stat, errno texts, paths, owners, mode strings. */
import { posix } from 'node:path';
import { readGroups, readPasswd } from '../../images.ts';
import { GUEST_ERRNO } from '../../texts.ts';
import { type AppletProcess, complain } from './applet.ts';

/** The stat fields the applets read (memfs returns number-typed Stats). */
export interface Stat {
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly nlink: number;
  readonly ino: number;
  readonly mtimeMs: number;
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}

export const abs = (p: AppletProcess, path: string): string => posix.resolve(p.cwd, path);
export const lstat = (p: AppletProcess, path: string): Stat => p.fs.vol.lstatSync(abs(p, path)) as Stat;
export const stat = (p: AppletProcess, path: string): Stat => p.fs.vol.statSync(abs(p, path)) as Stat;

export function tryStat(p: AppletProcess, path: string, follow = true): Stat | undefined {
  try {
    return follow ? stat(p, path) : lstat(p, path);
  } catch {
    return undefined;
  }
}

export const codeOf = (error: unknown): string | undefined => (error as { code?: string }).code;

/** busybox's `strerror` text for a failed fs call (no "(os error N)" suffix in the guest). */
export function errno(error: unknown): string {
  const code = codeOf(error);
  return (code && GUEST_ERRNO[code]) ?? (error as Error).message;
}

/** An `Error` carrying an errno code, as the fs calls throw. */
export function fsError(code: string): Error {
  return Object.assign(new Error(code), { code });
}

/** A file operand's bytes; `-` is stdin. */
export function readInput(p: AppletProcess, path: string): Uint8Array {
  if (path === '-') return p.stdin;
  const full = abs(p, path);
  if (full === '/dev/null') return new Uint8Array();
  if (stat(p, path).isDirectory()) throw fsError('EISDIR');
  return p.fs.vol.readFileSync(full) as Uint8Array;
}

/**
 * The operands' bytes in turn, for `for (const [file, data] of inputs)`: one that cannot be read is
 * reported (busybox's `FILE: strerror`, unless `say` words it) and skipped, and `failed` says so.
 */
export class Inputs implements Iterable<[string, Uint8Array]> {
  failed = false;
  readonly #p: AppletProcess;
  readonly #files: readonly string[];
  readonly #say: (file: string, error: unknown) => string;

  constructor(p: AppletProcess, files: readonly string[], say: (file: string, error: unknown) => string = (file, error) => `${file}: ${errno(error)}`) {
    this.#p = p;
    this.#files = files;
    this.#say = say;
  }

  *[Symbol.iterator](): Iterator<[string, Uint8Array]> {
    for (const file of this.#files) {
      let data: Uint8Array;
      try {
        data = readInput(this.#p, file);
      } catch (error) {
        complain(this.#p, this.#say(file, error));
        this.failed = true;
        continue;
      }
      yield [file, data];
    }
  }
}

export function writeFile(p: AppletProcess, path: string, data: Uint8Array | string, append = false): void {
  const full = abs(p, path);
  if (full === '/dev/null') return;
  const fresh = !p.fs.vol.existsSync(full);
  if (append) p.fs.vol.appendFileSync(full, data);
  else p.fs.vol.writeFileSync(full, data);
  if (fresh) p.fs.vol.chmodSync(full, 0o644);
}

/**
 * st_blocks (512-byte units) as ext4 allocates them, 4K at a time; memfs has no block counts.
 * A short symlink keeps its target in the inode (a fast symlink), so it has none.
 */
export function blocks512(st: Stat): number {
  return st.isSymbolicLink() ? 0 : Math.ceil(Number(st.size) / 4096) * 8;
}

/** st_mtime: whole seconds, what busybox compares (memfs keeps milliseconds). */
export function mtimeSeconds(st: Stat): number {
  return Math.floor(Number(st.mtimeMs) / 1000);
}

/** `ls -l`'s mode column. */
export function modeString(st: Stat): string {
  const mode = Number(st.mode);
  const type = st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : '-';
  const rwx = (shift: number, special: number, char: string): string => {
    const bits = (mode >> shift) & 7;
    const x = (bits & 1) !== 0;
    const s = (mode & special) !== 0;
    return `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${s ? (x ? char : char.toUpperCase()) : x ? 'x' : '-'}`;
  };
  return type + rwx(6, 0o4000, 's') + rwx(3, 0o2000, 's') + rwx(0, 0o1000, 't');
}

export function userName(p: AppletProcess, uid: number): string | undefined {
  return readPasswd(p.fs).find((u) => u.uid === uid)?.name;
}

export function groupName(p: AppletProcess, gid: number): string | undefined {
  return readGroups(p.fs).find((g) => g.gid === gid)?.name;
}

/** Linux access rules (root bypasses r/w, needs one x bit to execute) for `test -r/-w/-x`. */
export function canAccess(st: Stat, p: AppletProcess, bit: 4 | 2 | 1): boolean {
  const perm = Number(st.mode) & 0o777;
  if (p.user.uid === 0) return bit !== 1 || st.isDirectory() || (perm & 0o111) !== 0;
  if (Number(st.uid) === p.user.uid) return ((perm >> 6) & bit) !== 0;
  if (Number(st.gid) === p.user.gid) return ((perm >> 3) & bit) !== 0;
  return (perm & bit) !== 0;
}

/** Visit `root`, then (if `recursive` and a directory, not following links) its tree, parents first. */
export function walk(p: AppletProcess, root: string, recursive: boolean, visit: (path: string) => void): void {
  visit(root);
  if (!recursive || !lstat(p, root).isDirectory()) return;
  for (const name of (p.fs.vol.readdirSync(abs(p, root)) as string[]).sort()) walk(p, posix.join(root, name), true, visit);
}

/** Every output line of `data` (split on `\n`, a final unterminated line included). */
export function lines(data: Uint8Array | string, separator = '\n'): string[] {
  const text = typeof data === 'string' ? data : new TextDecoder().decode(data);
  if (text === '') return [];
  const parts = text.split(separator);
  if (parts.at(-1) === '') parts.pop();
  return parts;
}
