import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../bin/smolvm', import.meta.url));
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

describe('fakes/bin/smolvm', () => {
  it('is executable and prints the version from any cwd', async () => {
    expect(statSync(BIN).mode & 0o111).not.toBe(0);
    const r = await smolvm(['--version']);
    expect(r).toMatchObject({ exitCode: 0, stdout: 'smolvm 1.9.2\n', stderr: '' });
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
    const piped = await smolvm(['machine', 'exec', '--name', 'cp1', '-i', '--', 'sh', '-c', 'cat > /root/in && wc -c /root/in'], {
      input: 'twelve bytes',
    });
    expect(piped.stdout).toBe('12 /root/in\n');
    const binary = await execa(BIN, ['machine', 'exec', '--name', 'cp1', '--', 'cat', '/data/up.bin'], {
      env,
      extendEnv: false,
      encoding: 'buffer',
    });
    expect(new Uint8Array(binary.stdout)).toEqual(Uint8Array.from([0, 1, 2, 255]));
  });

  it('answers the delete prompt from stdin', async () => {
    await smolvm(['machine', 'create', '--name', 'del']);
    const keep = await smolvm(['machine', 'delete', '--name', 'del'], { input: 'n\n' });
    expect(keep).toMatchObject({ exitCode: 0, stdout: 'Cancelled\n', stderr: "Delete machine 'del'? [y/N] " });
    const gone = await smolvm(['machine', 'delete', '--name', 'del'], { input: 'y\n' });
    expect(gone.stdout).toBe('Deleted machine: del\n');
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
