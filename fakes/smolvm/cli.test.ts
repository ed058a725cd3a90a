/**
 * What fakes/bin/smolvm does per invocation, run in process: load the state directory, dispatch
 * one command line on real host files, save. Exit codes, stdout and stderr as the process would
 * print them, stdin on demand. What only a process shows (the lock between invocations, a kill,
 * the bin itself, FAKE_SMOLVM_COMMANDS) is in integration/fakes/smolvm-cli.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { promises as nodeFs, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runSmolvm } from './dispatch.ts';
import { Sink } from './guest/process.ts';
import type { HostFs } from './host-fs.ts';
import { bufferedStdin, SmolvmModel } from './model.ts';
import { readState, saveState } from './persistent.ts';

let root: string;
let state: string;

/** One `smolvm ARGS…` as cli.ts runs it: the model from the state dir, one dispatch, the state saved. */
async function smolvm(args: string[], options: { input?: string | Uint8Array } = {}) {
  await mkdir(state, { recursive: true });
  const model = new SmolvmModel({
    hostFs: nodeFs as HostFs,
    version: '1.9.2',
    generateShortId: () => randomBytes(4).toString('hex'),
    clock: Date.now,
    state: await readState(state),
  });
  const stdout = new Sink();
  const stderr = new Sink();
  const input = options.input;
  const exitCode = await runSmolvm(model, args, {
    env: {},
    stdin: bufferedStdin(typeof input === 'string' ? new TextEncoder().encode(input) : (input ?? new Uint8Array())),
    stdout,
    stderr,
    signal: new AbortController().signal,
  });
  await saveState(state, model.export());
  return { exitCode, stdout: stdout.text(), stderr: stderr.text(), stdoutBytes: stdout.bytes() };
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'fake-smolvm-cli-'));
  state = join(root, 'state');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('the fake smolvm CLI, one invocation at a time', () => {
  it('prints the version', async () => {
    expect(await smolvm(['--version'])).toMatchObject({ exitCode: 0, stdout: 'smolvm 1.9.2\n', stderr: '' });
  });

  it('keeps state across invocations and passes exit codes and streams through', async () => {
    expect((await smolvm(['machine', 'create', '--name', 'cli1', '--label', 'owner=test'])).exitCode).toBe(0);
    const start = await smolvm(['machine', 'start', '--name', 'cli1']);
    expect(start.stderr).toBe("Starting machine 'cli1'...\n");
    expect(start.stdout).toMatch(/^Machine 'cli1' running \(PID: \d+\)\n$/);
    const r = await smolvm(['machine', 'exec', '--name', 'cli1', '--', 'sh', '-c', 'echo out; echo err >&2; exit 5']);
    expect(r).toMatchObject({ exitCode: 5, stdout: 'out\n', stderr: 'err\n' });
    const missing = await smolvm(['machine', 'exec', '--name', 'nope', '--', 'true']);
    expect(missing).toMatchObject({ exitCode: 1, stdout: '', stderr: 'Error: vm not found: nope\n' });
    const usage = await smolvm(['machine', 'exec', '-n', 'cli1', '--', 'true']);
    expect(usage.exitCode).toBe(2);
    const list = JSON.parse((await smolvm(['machine', 'ls', '--json'])).stdout) as Array<{ name: string; labels: object; state: string }>;
    expect(list).toMatchObject([{ name: 'cli1', labels: { owner: 'test' }, state: 'running' }]);
  });

  it('copies real host files both ways and feeds stdin to exec -i', async () => {
    await smolvm(['machine', 'create', '--name', 'cp1']);
    await smolvm(['machine', 'start', '--name', 'cp1']);
    writeFileSync(join(root, 'up.bin'), Uint8Array.from([0, 1, 2, 255]));
    const up = await smolvm(['machine', 'cp', '--mode', '600', join(root, 'up.bin'), 'cp1:/data/up.bin']);
    expect(up.exitCode).toBe(0);
    expect(up.stderr).toMatch(/^Uploading .*up\.bin -> \/data\/up\.bin: 4 B \/ 4 B \(100\.0%/);
    expect((await smolvm(['machine', 'exec', '--name', 'cp1', '--', 'stat', '-c', '%a %U %s', '/data/up.bin'])).stdout).toBe('600 root 4\n');
    const down = await smolvm(['machine', 'cp', 'cp1:/data/up.bin', join(root, 'down.bin')]);
    expect(down.exitCode).toBe(0);
    expect(new Uint8Array(readFileSync(join(root, 'down.bin')))).toEqual(Uint8Array.from([0, 1, 2, 255]));
    const piped = await smolvm(['machine', 'exec', '--name', 'cp1', '-i', '--', 'sh', '-c', 'cat > /root/in && wc -c /root/in'], { input: 'twelve bytes' });
    expect(piped.stdout).toBe('12 /root/in\n');
    const binary = await smolvm(['machine', 'exec', '--name', 'cp1', '--', 'cat', '/data/up.bin']);
    expect(binary.stdoutBytes).toEqual(Uint8Array.from([0, 1, 2, 255]));
  });

  it('answers the delete prompt from stdin', async () => {
    await smolvm(['machine', 'create', '--name', 'del']);
    const keep = await smolvm(['machine', 'delete', '--name', 'del'], { input: 'n\n' });
    expect(keep).toMatchObject({ exitCode: 0, stdout: 'Cancelled\n', stderr: "Delete machine 'del'? [y/N] " });
    const gone = await smolvm(['machine', 'delete', '--name', 'del'], { input: 'y\n' });
    expect(gone.stdout).toBe('Deleted machine: del\n');
    expect(JSON.parse((await smolvm(['machine', 'ls', '--json'])).stdout)).toEqual([]);
  });
});
