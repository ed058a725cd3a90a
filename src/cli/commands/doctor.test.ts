// doctor's pipelock and podman lines, through the CLI (in process).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolatedCliEnv, runCli } from '../capture.ts';

const FAKE_PIPELOCK = fileURLToPath(new URL('../../../fakes/bin/pipelock', import.meta.url));

let work: string;
let env: Record<string, string>;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'claude-bottle-doctor-'));
  // node must stay reachable (the fake pipelock is a node script), pipelock must not be on it.
  env = isolatedCliEnv(work, process.execPath.replace(/\/node$/, ''));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const doctor = (args: string[], extra: Record<string, string> = {}) => runCli(['doctor', ...args], { ...env, ...extra });

describe('doctor: pipelock', () => {
  it('reports the binary found through PIPELOCK_BIN, with its version (JSON and text)', async () => {
    const json = await doctor(['--json'], { PIPELOCK_BIN: FAKE_PIPELOCK });
    expect(json.exitCode, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout).pipelock).toEqual({ binary: FAKE_PIPELOCK, found: true, path: FAKE_PIPELOCK, version: '0.0.0-fake' });
    const text = await doctor([], { PIPELOCK_BIN: FAKE_PIPELOCK });
    expect(text.stdout).toContain(`pipelock   ${FAKE_PIPELOCK} — 0.0.0-fake — ok`);
  });

  it('reports it missing, saying who needs it and how to point at it', async () => {
    const json = await doctor(['--json']);
    expect(JSON.parse(json.stdout).pipelock).toEqual({ binary: 'pipelock', found: false, path: null, version: null });
    const text = await doctor([]);
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toMatch(/pipelock {3}not found — needed only for egress plans; install it or set PIPELOCK_BIN/);
  });
});

describe('doctor: podman', () => {
  it('reports podman missing, and how to get it', async () => {
    const json = await doctor(['--json'], { PODMAN_BIN: join(work, 'absent-podman') });
    expect(JSON.parse(json.stdout).podman).toMatchObject({ binary: join(work, 'absent-podman'), answers: false, version: null });
    expect((await doctor([], { PODMAN_BIN: join(work, 'absent-podman') })).stdout).toMatch(
      /podman {5}does not run \(cannot start .*absent-podman.*\); install podman \(Debian: apt-get install podman\) or set PODMAN_BIN/,
    );
  });

  it("reports its version and how its containers.conf is chosen: a user's CONTAINERS_CONF is left alone", async () => {
    const podman = join(work, 'podman');
    await writeFile(podman, '#!/bin/sh\n[ "$1" = info ] && echo 4.3.1 && exit 0\necho "Error: image not known" >&2; exit 125\n', { mode: 0o755 });
    const mine = join(work, 'mine.conf');
    const json = await doctor(['--json'], { PODMAN_BIN: podman, CONTAINERS_CONF: mine });
    expect(JSON.parse(json.stdout).podman).toMatchObject({ answers: true, version: '4.3.1', containersConf: { mode: 'user', path: mine } });
    const text = await doctor([], { PODMAN_BIN: podman, CONTAINERS_CONF: mine });
    expect(text.stdout).toContain(`podman     4.3.1 — ok; CONTAINERS_CONF=${mine} is yours and left alone`);
    expect(text.stdout).toMatch(/ {11}in podman: claude-bottle\/agent:latest not built/);
  });
});
