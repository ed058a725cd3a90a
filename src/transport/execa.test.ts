import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeSmolvm } from '../../fakes/index.ts';
import { BinaryNotFoundError } from '../errors.ts';
import { SmolvmEngine } from '../engines/smolvm/engine.ts';
import { readSmolvmVersion, requireSmolvmVersion } from '../engines/smolvm/version.ts';
import type { MachineConfig } from '../engine/types.ts';
import { createExecaTransport } from './execa.ts';
import type { Transport } from './types.ts';

const bare = (name: string): MachineConfig => ({ name, image: 'alpine', labels: {}, network: { enabled: false, allowHosts: [], allowCidrs: [] } });

const FAKE_BIN = fileURLToPath(new URL('../../fakes/bin/smolvm', import.meta.url));

let work: string;
let env: Record<string, string | undefined>;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'claude-bottle-execa-'));
  env = { ...process.env, SMOLVM_BIN: FAKE_BIN, FAKE_SMOLVM_STATE: join(work, 'state') };
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('execa transport against fakes/bin/smolvm', () => {
  it('returns non-zero exits as results, with argv, stderr and duration', async () => {
    const transport = createExecaTransport({ env });
    const result = await transport.run(['smolvm', 'machine', 'start', '--name', 'ghost']);
    expect(result).toMatchObject({ argv: ['smolvm', 'machine', 'start', '--name', 'ghost'], exitCode: 1, stdout: '', timedOut: false });
    expect(result.stderr).toBe('Error: vm not found: ghost\n');
    expect(result.durationMs).toBeGreaterThan(0);
  });

  it('passes guest exit codes, stdout bytes and stdin straight through', async () => {
    const transport = createExecaTransport({ env });
    const engine = new SmolvmEngine({ transport });
    await engine.create(bare('pipe'));
    await engine.start('pipe');
    expect(await engine.exec('pipe', ['sh', '-c', 'echo out; echo err >&2; exit 7'])).toMatchObject({ exitCode: 7, stdout: 'out\n', stderr: 'err\n' });
    expect((await engine.exec('pipe', ['cat'], { stdin: 'fed through -i' })).stdout).toBe('fed through -i');
    expect((await engine.exec('pipe', ['printf', '\\000\\001\\377'])).stdoutBytes).toEqual(new Uint8Array([0, 1, 255]));
    await engine.remove('pipe');
  });

  it('delivers env values through the environment, not argv', async () => {
    const transport = createExecaTransport({ env });
    const engine = new SmolvmEngine({ transport });
    await engine.create(bare('envy'));
    await engine.start('envy');
    const out = await engine.exec('envy', ['sh', '-c', 'printf %s "$TOKEN"'], { env: { TOKEN: 'sk-hidden' } });
    expect(out.stdout).toBe('sk-hidden');
    await engine.remove('envy');
  });

  it('reports a host-side timeout as timedOut with exit -1', async () => {
    const transport = createExecaTransport({ env });
    const engine = new SmolvmEngine({ transport });
    await engine.create(bare('slow'));
    await engine.start('slow');
    const result = await transport.run(['smolvm', 'machine', 'exec', '--name', 'slow', '--', 'sleep', '5'], { timeoutMs: 300 });
    expect(result).toMatchObject({ timedOut: true, exitCode: -1 });
    const guestTimeout = await engine.exec('slow', ['sleep', '5'], { timeoutMs: 200 });
    expect(guestTimeout.exitCode).toBe(124);
    await engine.remove('slow');
  });

  it('a missing binary is a typed error naming what was run and how to install smolvm', async () => {
    const transport = createExecaTransport({ env: { ...env, SMOLVM_BIN: join(work, 'no-such-smolvm') } });
    const error = await transport.run(['smolvm', '--version']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BinaryNotFoundError);
    expect((error as Error).message).toContain(join(work, 'no-such-smolvm'));
    expect((error as Error).message).toMatch(/SMOLVM_BIN/);
    expect((error as Error).message).toMatch(/install/i);
  });

  it('a version too old for cp --mode is reported clearly', async () => {
    const old = join(work, 'old-smolvm');
    await writeFile(old, '#!/bin/sh\necho "smolvm 1.8.3"\n', { mode: 0o755 });
    await expect(requireSmolvmVersion(createExecaTransport({ env: { ...env, SMOLVM_BIN: old } }))).rejects.toThrow(/1\.8\.3 is too old.*--mode\/--uid\/--gid/s);
    expect((await requireSmolvmVersion(createExecaTransport({ env }))).raw).toBe('1.9.2');
  });
});

/** One scenario, run through the in-memory fake and through the fake CLI: identical results. */
async function scenario(transport: Transport, hostFile: string): Promise<unknown[]> {
  const steps: unknown[] = [];
  const record = async (argv: string[], options: Parameters<Transport['run']>[1] = {}) => {
    const r = await transport.run(argv, options);
    steps.push({ argv: r.argv, exitCode: r.exitCode, stdout: r.stdout.replace(/PID: \d+/g, 'PID: N').replace(/"pid": \d+/g, '"pid": N').replace(/"created_at": \d+/g, '"created_at": T'), stderr: r.stderr.replace(/, [\d.]+ [KMGT]?i?B\/s\)/g, ', RATE)') });
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

describe('the in-memory fake and the fake CLI agree', () => {
  it('gives identical results for the same scenario', async () => {
    const hostFile = join(work, 'upload.txt');
    await writeFile(hostFile, 'twelve bytes');
    const inMemory = await scenario(createFakeSmolvm(), hostFile);
    const viaCli = await scenario(createExecaTransport({ env: { ...env, FAKE_SMOLVM_STATE: join(work, 'twin-state') } }), hostFile);
    expect(viaCli).toEqual(inMemory);
    expect(inMemory).toContainEqual(expect.objectContaining({ exitCode: 5, stdout: 'twelve bytes' }));
  });
});
