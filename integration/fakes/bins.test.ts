// The fakes' bins as real processes: fakes/bin/smolvm gives the same results as the in-memory
// fake it wraps, and fakes/bin/pipelock starts, serves and stops on SIGTERM.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeSmolvm } from '../../fakes/index.ts';
import { freePort } from '../../src/daemon/daemon.ts';
import { pipelockConfigYaml } from '../../src/daemons/pipelock/config.ts';
import { readSmolvmVersion } from '../../src/engines/smolvm/version.ts';
import { createProcessTransport } from '../../src/transport/process.ts';
import type { Transport } from '../../src/transport/types.ts';

const FAKE_SMOLVM = fileURLToPath(new URL('../../fakes/bin/smolvm', import.meta.url));
const FAKE_PIPELOCK = fileURLToPath(new URL('../../fakes/bin/pipelock', import.meta.url));

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'claude-bottle-fake-bins-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** One scenario, run through the in-memory fake and through the fake CLI: identical results. */
async function scenario(transport: Transport, hostFile: string): Promise<unknown[]> {
  const steps: unknown[] = [];
  const record = async (argv: string[], options: Parameters<Transport['run']>[1] = {}) => {
    const r = await transport.run(argv, options);
    steps.push({
      argv: r.argv,
      exitCode: r.exitCode,
      stdout: r.stdout
        .replace(/PID: \d+/g, 'PID: N')
        .replace(/"pid": \d+/g, '"pid": N')
        .replace(/"created_at": \d+/g, '"created_at": T'),
      stderr: r.stderr.replace(/, [\d.]+ [KMGT]?i?B\/s\)/g, ', RATE)'),
    });
  };
  await record(['smolvm', 'machine', 'create', '--name', 'twin', '--label', 'k=v']);
  await record(['smolvm', 'machine', 'create', '--name', 'twin']);
  await record(['smolvm', 'machine', 'exec', '--name', 'twin', '--', 'true']);
  await record(['smolvm', 'machine', 'start', '--name', 'twin']);
  await record(['smolvm', 'machine', 'start', '--name', 'twin']);
  await record(['smolvm', 'machine', 'cp', hostFile, 'twin:/home/x/file.txt', '--mode', '640', '--uid', '7', '--gid', '8']);
  await record(['smolvm', 'machine', 'exec', '--name', 'twin', '--', 'stat', '-c', '%a %u %g %s', '/home/x/file.txt']);
  await record(['smolvm', 'machine', 'cp', `twin:/home/x`, join(hostFile, '..', 'dl'), '--mode', '600']);
  await record(['smolvm', 'machine', 'exec', '--name', 'twin', '--', 'sh', '-c', 'cat /home/x/file.txt; exit 5']);
  await record(['smolvm', 'machine', 'exec', '--name', 'twin', '--', 'nosuchcmd']);
  await record(['smolvm', 'machine', 'status', '--name', 'twin', '--json']);
  await record(['smolvm', 'machine', 'stop', '--name', 'twin']);
  await record(['smolvm', 'machine', 'stop', '--name', 'twin']);
  await record(['smolvm', 'machine', 'delete', '--name', 'twin', '-f']);
  await record(['smolvm', 'machine', 'ls', '--json']);
  await readSmolvmVersion(transport).then((v) => steps.push(v.raw));
  return steps;
}

describe('fakes/bin/smolvm and the in-memory fake agree', () => {
  it('gives identical results for the same scenario', async () => {
    const hostFile = join(work, 'upload.txt');
    await writeFile(hostFile, 'twelve bytes');
    const inMemory = await scenario(createFakeSmolvm(), hostFile);
    const viaCli = await scenario(
      createProcessTransport({ env: { ...process.env, SMOLVM_BIN: FAKE_SMOLVM, FAKE_SMOLVM_STATE: join(work, 'twin-state') } }),
      hostFile,
    );
    expect(viaCli).toEqual(inMemory);
    expect(inMemory).toContainEqual(expect.objectContaining({ exitCode: 5, stdout: 'twelve bytes' }));
  });
});

describe('fakes/bin/pipelock', () => {
  it('loads the config claude-bottle writes, answers /health, and exits 0 on SIGTERM', async () => {
    const port = await freePort('127.0.0.1');
    const config = join(work, 'pipelock.yaml');
    await writeFile(config, pipelockConfigYaml({ listen: `127.0.0.1:${port}`, allowHosts: ['localhost'] }));
    const child: ChildProcess = spawn(FAKE_PIPELOCK, ['run', '--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      let health: Response | undefined;
      for (const deadline = Date.now() + 15_000; !health && Date.now() < deadline; ) {
        health = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(500) }).catch(() => undefined);
        if (!health) await new Promise((r) => setTimeout(r, 50));
      }
      expect(health?.ok, stderr).toBe(true);
      expect(await health?.json()).toMatchObject({ status: 'healthy', mode: 'strict' });
    } finally {
      child.kill('SIGTERM');
    }
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    expect(stderr).toContain('"event":"listening"');
  });
});
