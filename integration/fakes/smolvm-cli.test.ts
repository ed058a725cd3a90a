/**
 * fakes/bin/smolvm as real processes: what only a process shows. The bin runs from any cwd; the
 * lock on the state directory serialises parallel invocations, is taken over from a dead owner
 * and released by a killed one; FAKE_SMOLVM_COMMANDS loads guest commands and images. (The
 * commands themselves run in process in fakes/smolvm/cli.test.ts.)
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../fakes/bin/smolvm', import.meta.url));
let root: string;
let env: Record<string, string>;

const smolvm = (args: string[], options: { input?: string | Uint8Array; extraEnv?: Record<string, string> } = {}) =>
  execa(BIN, args, {
    cwd: root, // any cwd works: the bin finds its sources from its own path
    env: { ...env, ...options.extraEnv },
    extendEnv: false,
    reject: false,
    stripFinalNewline: false,
    ...(options.input !== undefined ? { input: options.input } : { stdin: 'ignore' as const }),
  });

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'fake-smolvm-cli-'));
  env = {
    // The bin's shebang is `env node`; make it find this Node (24), not an older system one.
    PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
    FAKE_SMOLVM_STATE: join(root, 'state'),
  };
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('fakes/bin/smolvm as a process', () => {
  it('is executable and prints the version from any cwd', async () => {
    expect(statSync(BIN).mode & 0o111).not.toBe(0);
    const r = await smolvm(['--version']);
    expect(r).toMatchObject({ exitCode: 0, stdout: 'smolvm 1.9.2\n', stderr: '' });
  });

  it('serialises concurrent invocations: 10 parallel creates all land', async () => {
    const names = Array.from({ length: 10 }, (_, i) => `par-${i}`);
    const results = await Promise.all(names.map((n) => smolvm(['machine', 'create', '--name', n])));
    expect(results.map((r) => [r.exitCode, r.stderr])).toEqual(names.map(() => [0, '']));
    const list = JSON.parse((await smolvm(['machine', 'ls', '--json'])).stdout) as Array<{ name: string }>;
    expect(list.map((m) => m.name).sort()).toEqual([...names].sort());
  });

  it('serialises concurrent creates of one name: exactly one wins', async () => {
    const results = await Promise.all(Array.from({ length: 5 }, () => smolvm(['machine', 'create', '--name', 'same'])));
    expect(results.filter((r) => r.exitCode === 0)).toHaveLength(1);
    for (const r of results.filter((x) => x.exitCode !== 0)) {
      expect(r.stderr).toBe("Error: config operation failed: create machine: machine 'same' already exists or is being created\n");
    }
  });

  it('takes over a lock left by a dead process', async () => {
    mkdirSync(join(root, 'state', 'lock'), { recursive: true });
    const dead = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => dead.on('exit', resolve));
    writeFileSync(join(root, 'state', 'lock', 'owner'), `${dead.pid}\n`);
    const r = await smolvm(['machine', 'ls']);
    expect(r).toMatchObject({ exitCode: 0, stdout: 'No machines found\n' });
  });

  it('releases the lock when killed mid-command', async () => {
    await smolvm(['machine', 'create', '--name', 'k']);
    await smolvm(['machine', 'start', '--name', 'k']);
    const slow = smolvm(['machine', 'exec', '--name', 'k', '--', 'sleep', '10']);
    await new Promise((resolve) => setTimeout(resolve, 600));
    slow.kill('SIGTERM');
    const killed = await slow;
    expect(killed.exitCode ?? killed.signal).toBeTruthy();
    const t0 = performance.now();
    expect((await smolvm(['machine', 'status', '--name', 'k'])).stdout).toMatch(/^Machine 'k': running/);
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  it('loads extra guest commands and images from FAKE_SMOLVM_COMMANDS', async () => {
    const module = join(root, 'commands.mjs');
    writeFileSync(
      module,
      `export default {
         claude: ({ argv, env, user }) => ({ exitCode: 0, stdout: 'claude ' + argv.slice(1).join(' ') + ' key=' + env.ANTHROPIC_API_KEY + ' as ' + user.name + '\\n' }),
       };
       export const images = { 'agent:1': { user: '1000', env: { IMG: 'yes' } } };`,
    );
    const extraEnv = { FAKE_SMOLVM_COMMANDS: module, ANTHROPIC_API_KEY: 'sk-host' };
    await smolvm(['machine', 'create', '--name', 'x', '-I', 'agent:1', '--net'], { extraEnv });
    expect((await smolvm(['machine', 'start', '--name', 'x'], { extraEnv })).exitCode).toBe(0);
    const r = await smolvm(['machine', 'exec', '--name', 'x', '-e', 'ANTHROPIC_API_KEY', '--', 'claude', '-p', 'hi'], { extraEnv });
    expect(r).toMatchObject({ exitCode: 0, stdout: 'claude -p hi key=sk-host as 1000\n' });
    const withoutModule = await smolvm(['machine', 'exec', '--name', 'x', '--', 'claude']);
    expect(withoutModule.exitCode).toBe(127); // an image machine: crun's not-found
  });
});
