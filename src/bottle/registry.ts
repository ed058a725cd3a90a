import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureDir, writeFileAtomic } from '../host/state.ts';
import type { BottleRecord } from './bottle.ts';

/**
 * The bottles this host launched, one 0600 JSON file each under `<state root>/bottles`, so that
 * `ls`, `exec` and `rm` find a bottle by name from any later process, whatever its backend.
 */
export class BottleRegistry {
  readonly dir: string;
  constructor(stateRoot: string) {
    this.dir = join(stateRoot, 'bottles');
  }

  async save(record: BottleRecord): Promise<void> {
    await ensureDir(this.dir);
    await writeFileAtomic(this.path(record.name), `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  }

  async get(name: string): Promise<BottleRecord | undefined> {
    if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(name)) return undefined;
    try {
      return JSON.parse(await readFile(this.path(name), 'utf8')) as BottleRecord;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async list(): Promise<BottleRecord[]> {
    let files: string[];
    try {
      files = await readdir(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const records = await Promise.all(files.filter((f) => f.endsWith('.json') && !f.startsWith('.')).map((f) => this.get(f.slice(0, -5))));
    return records.filter((r): r is BottleRecord => r !== undefined).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  async delete(name: string): Promise<void> {
    await rm(this.path(name), { force: true });
  }

  private path(name: string): string {
    return join(this.dir, `${name}.json`);
  }
}
