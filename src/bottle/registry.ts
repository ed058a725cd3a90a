import { readFile, readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { bottleNameProblem } from '../agent/names.ts';
import { ensureDir, writeFileAtomic } from '../host/state.ts';
import type { BottleRecord } from './bottle.ts';

/**
 * The bottles this host launched, one 0600 JSON file each under `<state root>/bottles`, so that
 * `ls`, `exec` and `rm` find a bottle by name from any later process, whatever its backend.
 * Beside each record, `<name>/` holds that bottle's own host files (its plan, the proxy's
 * config): they go with the record.
 */
export class BottleRegistry {
  readonly root: string;
  readonly dir: string;
  constructor(stateRoot: string) {
    this.root = stateRoot;
    this.dir = join(stateRoot, 'bottles');
  }

  /** The bottle's own host files. */
  runDir(name: string): string {
    return join(this.dir, checkName(name));
  }

  async save(record: BottleRecord): Promise<void> {
    await ensureDir(this.dir);
    await writeFileAtomic(this.path(record.name), `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  }

  async get(name: string): Promise<BottleRecord | undefined> {
    if (bottleNameProblem(name) !== undefined) return undefined;
    try {
      return JSON.parse(await readFile(this.path(name), 'utf8')) as BottleRecord;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async list(): Promise<BottleRecord[]> {
    const records = await Promise.all((await this.names()).map((name) => this.get(name)));
    return records.filter((r): r is BottleRecord => r !== undefined).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /** The recorded forks of bottle `name`. */
  async forksOf(name: string): Promise<BottleRecord[]> {
    return (await this.list()).filter((r) => r.forkOf?.name === name);
  }

  /** Names of the run dirs present, recorded or not (a crash can leave one behind). */
  async runDirs(): Promise<string[]> {
    const entries = await readdir(this.dir, { withFileTypes: true }).catch(() => []);
    return entries.filter((e) => e.isDirectory() && bottleNameProblem(e.name) === undefined).map((e) => e.name);
  }

  /** Drops the record, the bottle's run dir and the plan file a record from before 0.2 kept elsewhere. */
  async delete(name: string, record?: BottleRecord): Promise<void> {
    await rm(this.runDir(name), { recursive: true, force: true });
    // Only under the state root: the path is read from a record.
    const plan = record?.planPath;
    if (plan && !plan.startsWith(`${this.runDir(name)}/`) && resolve(plan).startsWith(`${resolve(this.root)}/`)) await rm(plan, { force: true });
    await rm(this.path(name), { force: true });
  }

  private async names(): Promise<string[]> {
    let files: string[];
    try {
      files = await readdir(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return files.filter((f) => f.endsWith('.json') && !f.startsWith('.')).map((f) => f.slice(0, -5));
  }

  private path(name: string): string {
    return join(this.dir, `${checkName(name)}.json`);
  }
}

function checkName(name: string): string {
  const problem = bottleNameProblem(name);
  if (problem) throw new Error(`registry: ${JSON.stringify(name)} is not a bottle name: it ${problem}`);
  return name;
}
