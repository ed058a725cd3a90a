/**
 * The narrow slice of the host file system that loading an agent and preparing its plan use.
 * Both `node:fs/promises` and memfs's `fs.promises` satisfy it, so tests can inject either,
 * or wrap one to make a single call fail.
 */
import * as nodeFs from 'node:fs/promises';

export interface HostStats {
  readonly mode: number | bigint;
  readonly size: number | bigint;
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}

export interface HostFileHandle {
  writeFile(data: Uint8Array): Promise<void>;
  chmod(mode: number): Promise<void>;
  datasync(): Promise<void>;
  close(): Promise<void>;
}

export interface HostFs {
  readFile(path: string): Promise<Uint8Array | string>;
  stat(path: string): Promise<HostStats>;
  lstat(path: string): Promise<HostStats>;
  /** Called without options, so entries are names; typed loosely because memfs's union also admits Dirents. */
  readdir(path: string): Promise<readonly { toString(): string }[]>;
  mkdir(path: string, options: { recursive: true; mode: number }): Promise<string | undefined>;
  chmod(path: string, mode: number): Promise<void>;
  open(path: string, flags: string, mode: number): Promise<HostFileHandle>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
}

/** What `loadAgentFile` needs. */
export type AgentFileFs = Pick<HostFs, 'readFile'>;

/** `code` of a Node-style file system error, if any. */
export function errnoCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') return error.code;
  return undefined;
}

/** The real file system; typing it as `HostFs` checks at compile time that node satisfies the port. */
export const nodeHostFs: HostFs = nodeFs;
