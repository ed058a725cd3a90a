/**
 * File descriptors of the shell and its commands: 0 reads a `StdinRef`, 1, 2 and up write to
 * sinks. A redirection to a file opens it the way ash's `openredirect` does and writes through
 * to the guest file as output arrives, with ash's error texts when it cannot.
 */
import { posix } from 'node:path';
import type { GuestFs, GuestUser } from '../../guest-fs.ts';
import { GUEST_ERRNO } from '../../texts.ts';
import { Sink, StdinRef } from '../process.ts';

export type Fd = { readonly kind: 'in'; readonly ref: StdinRef } | { readonly kind: 'out'; readonly sink: Sink } | { readonly kind: 'closed' };

/** The shell's fd table; copied for each command so redirections stay local to it. */
export type Fds = Map<number, Fd>;

/** Writes straight into a guest file, acting as the shell's user. */
export class FileSink extends Sink {
  readonly #fs: GuestFs;
  readonly #user: GuestUser;
  readonly #path: string;

  constructor(fs: GuestFs, user: GuestUser, path: string) {
    super(0);
    this.#fs = fs;
    this.#user = user;
    this.#path = path;
  }

  override write(data: string | Uint8Array): void {
    super.write(data);
    this.#fs.as(this.#user, () => this.#fs.vol.appendFileSync(this.#path, data));
  }
}

/** Discards everything (/dev/null, `>&-`). */
export const devNull = (): Sink => new Sink(0);

function errnoText(error: unknown, missing: string): string {
  const code = (error as { code?: string }).code ?? '';
  // ash `errmsg`: a missing file or directory reads as the caller's phrase, others as strerror.
  if (code === 'ENOENT' || code === 'ENOTDIR') return missing;
  return GUEST_ERRNO[code] ?? String(error);
}

/** Open `target` for a redirection; a string is the error message (`can't create …`). */
export function openFile(fs: GuestFs, user: GuestUser, cwd: string, target: string, op: '<' | '>' | '>>' | '>|' | '<>', umask: number): Fd | string {
  const path = posix.resolve(cwd, target);
  if (path === '/dev/null') return op === '<' ? { kind: 'in', ref: new StdinRef(new Uint8Array()) } : { kind: 'out', sink: devNull() };
  const vol = fs.vol;
  return fs.as(user, () => {
    if (op === '<' || op === '<>') {
      try {
        if (op === '<>' && !vol.existsSync(path)) {
          vol.writeFileSync(path, '');
          vol.chmodSync(path, 0o666 & ~umask);
        }
        if (vol.statSync(path).isDirectory()) return { kind: 'in', ref: new StdinRef(new Uint8Array()) };
        return { kind: 'in', ref: new StdinRef(vol.readFileSync(path) as Uint8Array) };
      } catch (error) {
        return `can't open ${target}: ${errnoText(error, 'no such file')}`;
      }
    }
    try {
      const fresh = !vol.existsSync(path);
      if (!fresh && vol.statSync(path).isDirectory()) return `can't create ${target}: ${GUEST_ERRNO.EISDIR}`;
      if (op === '>>') vol.appendFileSync(path, '');
      else vol.writeFileSync(path, '');
      if (fresh) vol.chmodSync(path, 0o666 & ~umask);
      return { kind: 'out', sink: new FileSink(fs, user, path) };
    } catch (error) {
      return `can't create ${target}: ${errnoText(error, 'nonexistent directory')}`;
    }
  });
}

export function outSink(fds: Fds, fd: number): Sink {
  const entry = fds.get(fd);
  return entry?.kind === 'out' ? entry.sink : devNull();
}

export function inRef(fds: Fds): StdinRef {
  const entry = fds.get(0);
  return entry?.kind === 'in' ? entry.ref : new StdinRef(new Uint8Array());
}
