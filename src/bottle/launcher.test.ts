import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { askLauncherToStop, holdLauncher, launcherAlive, launcherSocketPath } from './launcher.ts';

let root = '';
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'cb-launcher-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('launcher liveness', () => {
  it('is alive while it holds its socket, dead once closed (the stale socket file proves nothing)', async () => {
    const held = await holdLauncher(root, 'abcdef0123456789');
    expect(held.ref.socket).toBe(launcherSocketPath(root, 'abcdef0123456789'));
    expect(await launcherAlive(held.ref)).toBe(true);
    await held.close();
    expect(await launcherAlive(held.ref)).toBe(false);
    await expect(stat(held.ref.socket ?? '')).rejects.toThrow();
  });

  it('`stop` on the socket resolves stopRequested; askLauncherToStop waits for the launcher to go', async () => {
    const held = await holdLauncher(root, '0123456789abcdef');
    let asked = false;
    void held.stopRequested.then(async () => {
      asked = true;
      await held.close();
    });
    expect(await askLauncherToStop(held.ref, 5000)).toBe(true);
    expect(asked).toBe(true);
    expect(await launcherAlive(held.ref)).toBe(false);
  });

  it('a path too long for a socket falls back to the pid', async () => {
    const deep = join(root, 'x'.repeat(120));
    const held = await holdLauncher(deep, 'abcdef0123456789');
    expect(held.ref).toEqual({ pid: process.pid });
    expect(await launcherAlive(held.ref)).toBe(true);
    expect(await launcherAlive({ pid: 2 ** 22 + 12345 })).toBe(false);
  });
});
