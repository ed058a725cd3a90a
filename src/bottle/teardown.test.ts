import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFakeSmolvm } from '../../fakes/index.ts';
import { SmolvmEngine } from '../engines/smolvm/engine.ts';
import type { BottleRecord } from './bottle.ts';
import { holdLauncher, type HeldLauncher, launcherAlive, launcherSocketPath } from './launcher.ts';
import { BottleRegistry } from './registry.ts';
import { teardownRecorded } from './teardown.ts';

let root: string;
let registry: BottleRegistry;
let held: HeldLauncher | undefined;
const engine = new SmolvmEngine({ transport: createFakeSmolvm() });

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'cb-teardown-'));
  registry = new BottleRegistry(root);
});
afterEach(async () => {
  await held?.close();
  await rm(root, { recursive: true, force: true });
});

const record = (name: string, fields: Partial<BottleRecord>): BottleRecord => ({
  name,
  backend: 'fake',
  agent: 'a',
  envKeys: [],
  createdAt: new Date().toISOString(),
  ...fields,
});

describe('teardownRecorded and host files', () => {
  it('leaves a live launcher serving others (a golden and its other forks) listening', async () => {
    held = await holdLauncher(root, 'aaaaaaaa00000001');
    const fork = record('gold-f1', { launchId: 'bbbbbbbb00000002', launcher: held.ref });
    await registry.save(fork);
    await teardownRecorded(engine, registry, fork);
    expect(await registry.get('gold-f1')).toBeUndefined();
    expect(await launcherAlive(held.ref)).toBe(true);
  });

  it("removes a dead launcher's socket file, and never a path outside the state root's run dir", async () => {
    const socket = launcherSocketPath(root, 'cccccccc00000003');
    const outside = join(root, 'not-a-socket.sock');
    await mkdir(join(root, 'run'), { recursive: true });
    for (const file of [socket, outside]) await writeFile(file, '');
    const dead = record('dead', { launchId: 'cccccccc00000003', launcher: { pid: 2 ** 22 + 1, socket } });
    const stray = record('stray', { launchId: 'dddddddd00000004', launcher: { pid: 2 ** 22 + 1, socket: outside } });
    for (const r of [dead, stray]) {
      await registry.save(r);
      await teardownRecorded(engine, registry, r);
    }
    await expect(stat(socket)).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await stat(outside)).isFile()).toBe(true);
  });

  it('removes a plan file a record names only under the state root', async () => {
    const inside = join(root, 'old-plan.json');
    const elsewhere = await mkdtemp(join(tmpdir(), 'cb-elsewhere-'));
    try {
      const outside = join(elsewhere, 'plan.json');
      for (const file of [inside, outside]) await writeFile(file, '{}');
      for (const [name, planPath] of [
        ['old', inside],
        ['odd', outside],
      ] as const) {
        await registry.save(record(name, { planPath }));
        await registry.delete(name, record(name, { planPath }));
      }
      await expect(stat(inside)).rejects.toMatchObject({ code: 'ENOENT' });
      expect((await stat(outside)).isFile()).toBe(true);
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
  });
});
