// The process transport against /bin/sh and tiny scripts: cheap processes, so every case is a real
// spawn. (integration/fakes runs a whole scenario through fakes/bin/smolvm.)
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireSmolvmVersion } from '../engines/smolvm/version.ts';
import { BinaryNotFoundError } from '../errors.ts';
import { createProcessTransport } from './process.ts';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'claude-bottle-transport-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function script(name: string, body: string): Promise<string> {
  const path = join(work, name);
  await writeFile(path, `#!/bin/sh\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}

describe('process transport', () => {
  it('returns non-zero exits as results, with argv, stdout, stderr and duration', async () => {
    const result = await createProcessTransport().run(['sh', '-c', 'echo out; echo "Error: vm not found: ghost" >&2; exit 1']);
    expect(result).toMatchObject({
      argv: ['sh', '-c', 'echo out; echo "Error: vm not found: ghost" >&2; exit 1'],
      exitCode: 1,
      stdout: 'out\n',
      timedOut: false,
    });
    expect(result.stderr).toBe('Error: vm not found: ghost\n');
    expect(result.durationMs).toBeGreaterThan(0);
  });

  it('passes stdout bytes and stdin straight through', async () => {
    const transport = createProcessTransport();
    expect((await transport.run(['cat'], { stdin: 'fed through stdin' })).stdout).toBe('fed through stdin');
    expect((await transport.run(['cat'], { stdin: new Uint8Array([0, 1, 255]) })).stdoutBytes).toEqual(new Uint8Array([0, 1, 255]));
    expect((await transport.run(['printf', '\\000\\001\\377'])).stdoutBytes).toEqual(new Uint8Array([0, 1, 255]));
    // Without stdin, the child's stdin is closed rather than this process's.
    expect((await transport.run(['cat'])).stdout).toBe('');
  });

  it('gives the child exactly its base env plus the call env: values through the environment, never argv', async () => {
    const transport = createProcessTransport({ env: { PATH: process.env.PATH ?? '', ONLY: 'base' } });
    const out = await transport.run(['sh', '-c', 'printf "%s|%s|%s" "$ONLY" "$TOKEN" "${HOME-unset}"'], { env: { TOKEN: 'sk-hidden' } });
    expect(out.stdout).toBe('base|sk-hidden|unset');
    expect(out.argv.join(' ')).not.toContain('sk-hidden');
  });

  it('reports a host-side timeout or an abort as exit -1, and a signal as 128 + its number', async () => {
    const transport = createProcessTransport();
    expect(await transport.run(['sleep', '5'], { timeoutMs: 100 })).toMatchObject({ timedOut: true, exitCode: -1 });
    const abort = new AbortController();
    const running = transport.run(['sleep', '5'], { signal: abort.signal });
    abort.abort();
    expect(await running).toMatchObject({ timedOut: false, exitCode: -1 });
    expect((await transport.run(['sh', '-c', 'kill -TERM $$'])).exitCode).toBe(143);
  });

  it('finds a program through bins, then $<PROGRAM>_BIN, then PATH', async () => {
    const a = await script('a', 'echo a "$@"');
    const b = await script('b', 'echo b "$@"');
    const env = { ...process.env, SMOLVM_BIN: b };
    expect((await createProcessTransport({ env, bins: { smolvm: a } }).run(['smolvm', 'x'])).stdout).toBe('a x\n');
    const viaEnv = await createProcessTransport({ env }).run(['smolvm', 'y']);
    expect(viaEnv).toMatchObject({ stdout: 'b y\n', argv: ['smolvm', 'y'] });
  });

  it('a missing binary is a typed error naming what was run and how to install it', async () => {
    const missing = join(work, 'no-such-smolvm');
    const error = await createProcessTransport({ env: { ...process.env, SMOLVM_BIN: missing } })
      .run(['smolvm', '--version'])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BinaryNotFoundError);
    expect((error as Error).message).toContain(missing);
    expect((error as Error).message).toMatch(/SMOLVM_BIN/);
    expect((error as Error).message).toMatch(/install/i);
    const docker = await createProcessTransport({ env: { PATH: work } })
      .run(['docker', 'ps'])
      .catch((e: unknown) => e);
    expect((docker as Error).message).toMatch(/Install Docker.*DOCKER_BIN/s);
  });

  it('a smolvm too old for cp --mode is reported clearly; a supported one is accepted', async () => {
    const old = await script('old-smolvm', 'echo "smolvm 1.8.3"');
    await expect(requireSmolvmVersion(createProcessTransport({ env: { ...process.env, SMOLVM_BIN: old } }))).rejects.toThrow(
      /1\.8\.3 is too old.*--mode\/--uid\/--gid/s,
    );
    const current = await script('smolvm', 'echo "smolvm 1.9.2"');
    expect((await requireSmolvmVersion(createProcessTransport({ env: { ...process.env, SMOLVM_BIN: current } }))).raw).toBe('1.9.2');
  });
});

describe('process transport: bounds', () => {
  it('stops a child whose output passes the cap, and says so', async () => {
    const { MAX_OUTPUT_BYTES } = await import('./process.ts');
    const transport = createProcessTransport();
    const result = await transport.run(['sh', '-c', `head -c ${MAX_OUTPUT_BYTES + 1024 * 1024} /dev/zero; sleep 5`], { timeoutMs: 30_000 });
    expect(result.exitCode).toBe(-1);
    expect(result.stdoutBytes.length).toBeLessThanOrEqual(MAX_OUTPUT_BYTES);
    expect(result.stderr).toMatch(/printed more than \d+ bytes; stopped/);
    expect(result.durationMs).toBeLessThan(5000);
  });

  it('a child that exits without reading its stdin is its own answer, not a transport failure', async () => {
    const result = await createProcessTransport().run(['sh', '-c', 'exit 3'], { stdin: new Uint8Array(4 * 1024 * 1024) });
    expect(result.exitCode).toBe(3);
  });

  it('the earlier name is the same transport', async () => {
    const { createExecaTransport } = await import('./execa.ts');
    expect(createExecaTransport).toBe(createProcessTransport);
  });
});
