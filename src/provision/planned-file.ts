/**
 * The files prepare wrote into the private state dir and recorded by sha256 (the prompt, the
 * CA): read once through a checked handle, compared with the plan, and only those bytes ever
 * reach an engine, from a private copy. The engine is never handed the state-dir path: it would
 * read it again, and follow whatever was swapped in after the check.
 */
import { createHash } from 'node:crypto';
import type { Engine, UploadOptions } from '../engine/types.ts';
import { HostReadError, nodeHostFs, readBoundedFile, withPrivateTempFile } from '../host/fs.ts';
import { ProvisionError } from './error.ts';

export interface PlannedFile {
  readonly hostPath: string;
  readonly sha256: string;
}

/**
 * The file's bytes, opened with O_NOFOLLOW (a symlink swapped in is refused), `fstat`ed on the
 * handle (a regular file of at most `maxBytes`), read from that handle and compared with the
 * planned sha256. A parent dir swapped for a symlink is not refused here, but it leads to other
 * bytes, which the digest refuses. `field` (`prompt`, `ca`) starts every error.
 */
export async function readPlannedFile(field: string, what: string, file: PlannedFile, maxBytes: number): Promise<Uint8Array> {
  let data: Uint8Array;
  try {
    data = (await readBoundedFile(nodeHostFs, file.hostPath, { maxBytes, noFollow: true })).data;
  } catch (error) {
    if (!(error instanceof HostReadError)) throw error;
    throw new ProvisionError(`${field}: ${file.hostPath} ${error.problem}; it was not uploaded (prepare again)`);
  }
  if (createHash('sha256').update(data).digest('hex') !== file.sha256) {
    throw new ProvisionError(`${field}: ${file.hostPath} is not ${what} prepare wrote (its sha256 differs); prepare again (it was not uploaded)`);
  }
  return data;
}

/** Uploads exactly `data`, from a fresh 0600 copy in a 0700 temp dir: still one engine call. */
export function uploadBytes(engine: Engine, machine: string, data: Uint8Array, guestPath: string, options: UploadOptions, name?: string): Promise<void> {
  return withPrivateTempFile(data, (copy) => engine.upload(machine, copy, guestPath, options), name);
}
