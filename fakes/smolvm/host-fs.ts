/**
 * The host filesystem `machine cp` reads uploads from and writes downloads to, and `create -v`
 * checks volume sources on. Both `node:fs/promises` and memfs's `fs.promises` satisfy it, so
 * tests can keep the host in memory.
 */
export interface HostFs {
  readFile(path: string): Promise<Uint8Array | string>;
  writeFile(path: string, data: Uint8Array): Promise<void>;
  stat(path: string): Promise<{ isDirectory(): boolean }>;
  unlink(path: string): Promise<void>;
  /** `canonicalize`; without it a volume source is only made absolute. */
  realpath?(path: string): Promise<string | Uint8Array>;
}
