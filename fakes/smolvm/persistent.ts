/**
 * A fake whose machines outlive the process: state in `<dir>/state.json`, the same file and
 * lock as `fakes/bin/smolvm`, so the claude-bottle CLI's embedded fake and the fake CLI share it.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createFakeSmolvm, type FakeSmolvm, type FakeSmolvmOptions } from './fake.ts';
import { lockStateDir } from './lock.ts';
import type { FakeSmolvmState } from './records.ts';

export interface PersistentFakeSmolvm {
  readonly fake: FakeSmolvm;
  /** Saves the state and releases the lock. */
  close(): Promise<void>;
  /** Releases the lock without saving. */
  abandon(): Promise<void>;
}

/** Holds the state dir's lock until `close`/`abandon`: one writer at a time. */
export async function openPersistentFakeSmolvm(dir: string, options: Omit<FakeSmolvmOptions, 'state'> = {}): Promise<PersistentFakeSmolvm> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const lock = await lockStateDir(dir);
  try {
    const state = await readState(dir);
    const fake = createFakeSmolvm({ generateShortId: () => randomBytes(4).toString('hex'), clock: Date.now, ...options, ...(state ? { state } : {}) });
    return {
      fake,
      close: async () => {
        try {
          await saveState(dir, fake.exportState());
        } finally {
          await lock.release();
        }
      },
      abandon: () => lock.release(),
    };
  } catch (error) {
    await lock.release();
    throw error;
  }
}

export async function readState(dir: string): Promise<FakeSmolvmState | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as FakeSmolvmState;
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Guest files may hold prompts and keys: the state file is 0600, replaced atomically. */
export async function saveState(dir: string, state: FakeSmolvmState): Promise<void> {
  const file = join(dir, 'state.json');
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(state), { mode: 0o600 });
  await rename(tmp, file);
}
