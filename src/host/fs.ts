/**
 * The narrow slice of the host file system that loading an agent and preparing its plan use.
 * Both `node:fs/promises` and memfs's `fs.promises` satisfy it, so tests can inject either,
 * or wrap one to make a single call fail.
 */
import { constants } from 'node:fs';
import * as nodeFs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface HostStats {
  readonly mode: number | bigint;
  readonly size: number | bigint;
  readonly dev: number | bigint;
  readonly ino: number | bigint;
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
  isFIFO(): boolean;
  isSocket(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
}

export interface HostFileHandle {
  writeFile(data: Uint8Array): Promise<void>;
  chmod(mode: number): Promise<void>;
  datasync(): Promise<void>;
  close(): Promise<void>;
  /** Reading: every real file system has these; a wrapper that only writes may leave them out. */
  stat?(options: { bigint: true }): Promise<HostStats>;
  read?(buffer: Uint8Array, offset: number, length: number, position: number | null): Promise<{ bytesRead: number }>;
}

export interface HostFs {
  readFile(path: string): Promise<Uint8Array | string>;
  stat(path: string): Promise<HostStats>;
  /** `{ bigint: true }` where a file's identity (dev, ino) is kept: no precision lost. */
  lstat(path: string, options?: { bigint: true }): Promise<HostStats>;
  /** Called without options, so entries are names; typed loosely because memfs's union also admits Dirents. */
  readdir(path: string): Promise<readonly { toString(): string }[]>;
  /** Entries one at a time, so a walk can stop at its budget without listing a huge dir whole. */
  opendir(path: string): Promise<AsyncIterable<{ readonly name: { toString(): string } }>>;
  mkdir(path: string, options: { recursive: true; mode: number }): Promise<string | undefined>;
  chmod(path: string, mode: number): Promise<void>;
  open(path: string, flags: string | number, mode?: number): Promise<HostFileHandle>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
}

/** What `loadAgentFile` needs. */
export type AgentFileFs = Pick<HostFs, 'open'>;

/** `code` of a Node-style file system error, if any. */
export function errnoCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') return error.code;
  return undefined;
}

/** The real file system; typing it as `HostFs` checks at compile time that node satisfies the port. */
export const nodeHostFs: HostFs = nodeFs;

/** Why a bounded read refused a file: `problem` is a phrase to put after the path. */
export class HostReadError extends Error {
  override name = 'HostReadError';
  readonly problem: string;
  readonly code: string | undefined;
  constructor(problem: string, code?: string) {
    super(problem);
    this.problem = problem;
    this.code = code;
  }
}

export interface BoundedReadOptions {
  /** Refused, before reading, when `fstat` says the file is larger; and never more is read. */
  readonly maxBytes: number;
  /** Refuse a symlink as the last path component (`O_NOFOLLOW`). */
  readonly noFollow?: boolean;
  /** Runs on the handle's own `fstat`, before any byte is read: a phrase refuses the file. */
  readonly check?: (stats: HostStats) => string | undefined;
}

export interface BoundedRead {
  readonly data: Uint8Array;
  /** The handle's `fstat`, bigint: the identity of exactly the file that was read. */
  readonly stats: HostStats;
}

/**
 * Reads a regular file of at most `maxBytes` without a check-then-use race: one open (with
 * `O_NONBLOCK`, so a FIFO cannot block it), `fstat` on that handle to refuse anything but a
 * regular file or anything too large before reading, then at most the reported size + 1 bytes
 * from the same handle (a file growing meanwhile is caught, not read on). Throws `HostReadError`.
 */
export async function readBoundedFile(fs: AgentFileFs, path: string, options: BoundedReadOptions): Promise<BoundedRead> {
  const flags = constants.O_RDONLY | constants.O_NONBLOCK | (options.noFollow ? constants.O_NOFOLLOW : 0);
  let handle: HostFileHandle;
  try {
    handle = await fs.open(path, flags);
  } catch (error) {
    throw openError(error, options.noFollow === true);
  }
  try {
    if (!handle.stat || !handle.read) throw new HostReadError('cannot be read through this file system (its handles have no stat/read)');
    const stats = await handle.stat({ bigint: true });
    const kind = fileKind(stats);
    if (kind !== 'file') throw new HostReadError(`is ${kind}, not a regular file`);
    const refused = options.check?.(stats);
    if (refused) throw new HostReadError(refused);
    const size = BigInt(stats.size);
    if (size > BigInt(options.maxBytes)) throw new HostReadError(`is ${size} bytes; at most ${options.maxBytes} are read`);
    // One byte more than fstat said: a file that grows (or a /proc file that claims 0) is caught.
    const buffer = new Uint8Array(Number(size) + 1);
    let filled = 0;
    while (filled < buffer.length) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, null);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    if (filled > size) throw new HostReadError(`grew past the ${size} bytes fstat reported while being read`);
    return { data: buffer.subarray(0, filled), stats };
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** `a directory`, `a FIFO`, … or `file` for a regular file. */
export function fileKind(stats: HostStats): string {
  if (stats.isFile()) return 'file';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSymbolicLink()) return 'a symlink';
  return 'not a regular file';
}

function openError(error: unknown, noFollow: boolean): HostReadError {
  const code = errnoCode(error);
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return new HostReadError('does not exist', code);
    case 'EISDIR':
      return new HostReadError('is a directory, not a regular file', code);
    case 'EACCES':
    case 'EPERM':
      return new HostReadError('cannot be read (permission denied)', code);
    case 'ELOOP':
      return new HostReadError(noFollow ? 'is a symlink, not a regular file' : 'has too many levels of symlinks', code);
    case 'ENXIO':
      // O_NONBLOCK on a socket or a FIFO's write side.
      return new HostReadError('is not a regular file', code);
    default:
      return new HostReadError(`cannot be read (${code ?? (error instanceof Error ? error.message : String(error))})`, code);
  }
}

/**
 * Runs `use` with the path of a fresh private copy of `data` (a 0700 temp dir, a 0600 file
 * created exclusively), then removes both: what an engine's `upload(hostPath)` is handed
 * instead of a path someone else could swap.
 */
export async function withPrivateTempFile<T>(data: Uint8Array, use: (path: string) => Promise<T>, name = 'file'): Promise<T> {
  const dir = await nodeFs.mkdtemp(join(tmpdir(), 'claude-bottle-upload-'));
  try {
    const path = join(dir, name);
    await nodeFs.writeFile(path, data, { mode: 0o600, flag: 'wx' });
    return await use(path);
  } finally {
    await nodeFs.rm(dir, { recursive: true, force: true });
  }
}
