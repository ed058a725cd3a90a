/**
 * An exclusive lock on the CLI's state directory: `mkdir` is atomic, and the owner's pid inside
 * lets a waiter take over the lock of a process that died holding it. Takeovers themselves are
 * serialised by a second, short-lived lock, so two waiters can never both break the same lock.
 */
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { join } from 'node:path';

const RETRY_MS = 15;
const GIVE_UP_MS = 120_000;
/** A lock dir with no owner file yet is only stale after this long (owner died mid-acquire). */
const ORPHAN_MS = 5_000;

export interface StateLock {
  release(): Promise<void>;
  /** For signal handlers, which cannot await. */
  releaseSync(): void;
}

export async function lockStateDir(dir: string): Promise<StateLock> {
  const lock = join(dir, 'lock');
  const deadline = Date.now() + GIVE_UP_MS;
  for (;;) {
    try {
      await mkdir(lock);
      // Written aside and renamed in, so a waiter never reads a half-written owner.
      await writeFile(join(lock, 'owner.tmp'), `${process.pid}\n`);
      await rename(join(lock, 'owner.tmp'), join(lock, 'owner'));
      return {
        release: () => rm(lock, { recursive: true, force: true }),
        releaseSync: () => rmSync(lock, { recursive: true, force: true }),
      };
    } catch (error) {
      if ((error as { code?: string }).code !== 'EEXIST') throw error;
    }
    if (await isStale(lock)) await breakStaleLock(dir, lock);
    if (Date.now() > deadline) throw new Error(`fake smolvm: timed out waiting for the state lock ${lock}`);
    await new Promise((r) => setTimeout(r, RETRY_MS + Math.random() * RETRY_MS));
  }
}

async function isStale(lock: string): Promise<boolean> {
  let owner: string;
  try {
    owner = await readFile(join(lock, 'owner'), 'utf8');
  } catch {
    try {
      return Date.now() - (await stat(lock)).mtimeMs > ORPHAN_MS;
    } catch {
      return false; // released meanwhile
    }
  }
  const pid = Number(owner.trim());
  if (!Number.isInteger(pid) || pid <= 0) return false; // not ours to judge: never break a lock we cannot read
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as { code?: string }).code === 'ESRCH';
  }
}

async function breakStaleLock(dir: string, lock: string): Promise<void> {
  const takeover = join(dir, 'lock.takeover');
  try {
    await mkdir(takeover);
  } catch {
    try {
      if (Date.now() - (await stat(takeover)).mtimeMs > ORPHAN_MS) await rm(takeover, { recursive: true, force: true });
    } catch {
      // gone already
    }
    return;
  }
  try {
    // Re-check under the takeover lock: another waiter may have replaced the stale lock already.
    if (await isStale(lock)) await rm(lock, { recursive: true, force: true });
  } finally {
    await rm(takeover, { recursive: true, force: true });
  }
}
