import { beforeEach, describe, expect, it } from 'vitest';
import { createFakeSmolvm, type FakeSmolvm } from '../index.ts';

let fake: FakeSmolvm;
const sm = (...args: string[]) => fake.run(['smolvm', ...args]);
const exec = (...argv: string[]) => sm('machine', 'exec', '--name', 'vm1', '--', ...argv);

beforeEach(async () => {
  fake = createFakeSmolvm({ env: { HOST_TOKEN: 'from-host' } });
  await sm('machine', 'create', '--name', 'vm1', '-e', 'BAKED=1');
  await sm('machine', 'start', '--name', 'vm1');
});

describe('exec preconditions', () => {
  it('fails for an unknown machine', async () => {
    expect(await sm('machine', 'exec', '--name', 'ghost', '--', 'true')).toMatchObject({
      exitCode: 1,
      stdout: '',
      stderr: 'Error: vm not found: ghost\n',
    });
  });

  it('fails for a stopped machine and does not start it', async () => {
    await sm('machine', 'stop', '--name', 'vm1');
    expect(await exec('true')).toMatchObject({
      exitCode: 1,
      stderr: "Error: agent operation failed: connect: machine 'vm1' is not running. Use 'smolvm machine start --name vm1' first.\n",
    });
    expect(fake.machine('vm1')?.state).toBe('stopped');
  });

  it('without --name targets "default"', async () => {
    expect((await sm('machine', 'exec', '--', 'true')).stderr).toBe("Error: agent operation failed: connect: machine 'default' not found\n");
    await sm('machine', 'create', '-n', 'default');
    expect((await sm('machine', 'exec', '--', 'true')).stderr).toBe(
      "Error: agent operation failed: connect: machine 'default' is not running. Use 'smolvm machine start' first.\n",
    );
  });

  it('takes --name long-only', async () => {
    const r = await sm('machine', 'exec', '-n', 'vm1', '--', 'true');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe(
      "error: unexpected argument '-n' found\n\n  tip: to pass '-n' as a value, use '-- -n'\n\n" +
        "Usage: smolvm machine exec [OPTIONS] <COMMAND>...\n\nFor more information, try '--help'.\n",
    );
  });

  it('requires a command', async () => {
    const r = await sm('machine', 'exec', '--name', 'vm1');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^error: the following required arguments were not provided:\n {2}<COMMAND>\.\.\.\n/);
  });

  it('treats everything from the first bare word on as the guest argv', async () => {
    const r = await sm('machine', 'exec', '--name', 'vm1', 'echo', '--name', '-e', 'x');
    expect(r.stdout).toBe('--name -e x\n');
  });
});

describe('exec results', () => {
  it('passes the guest exit code through', async () => {
    expect((await exec('sh', '-c', 'exit 42')).exitCode).toBe(42);
    expect((await exec('false')).exitCode).toBe(1);
    const one = await exec('sh', '-c', 'exit 1');
    expect(one).toMatchObject({ exitCode: 1, stderr: '' });
  });

  it('prints all of stdout, then all of stderr', async () => {
    const r = await exec('sh', '-c', 'echo out1; echo err1 >&2; echo out2');
    expect(r).toMatchObject({ exitCode: 0, stdout: 'out1\nout2\n', stderr: 'err1\n' });
  });

  it('keeps binary stdout byte for byte', async () => {
    const bytes = new Uint8Array(256).map((_, i) => i);
    fake.guestFs('vm1').writeFileSync('/root/bin', bytes);
    const r = await exec('cat', '/root/bin');
    expect(r.stdoutBytes).toEqual(bytes);
  });

  it('reports a missing program as a spawn failure on a bare VM', async () => {
    expect(await exec('no-such-tool', 'x')).toMatchObject({
      exitCode: 1,
      stdout: '',
      stderr: 'Error: agent operation failed: vm exec: failed to spawn command: No such file or directory (os error 2)\n',
    });
    expect((await sm('machine', 'exec', '--name', 'vm1', '-i', '--', 'nope')).stderr).toBe(
      'Error: agent operation failed: vm exec interactive: No such file or directory (os error 2)\n',
    );
  });

  it("reports the errno execvp failed with (handle_vm_exec formats the spawn's io::Error)", async () => {
    const spawn = (io: string) => `Error: agent operation failed: vm exec: failed to spawn command: ${io}\n`;
    await exec('sh', '-c', 'echo x > /tmp/s; printf "ab\\n" > /tmp/e; chmod 755 /tmp/e; printf "#!/nope\\n" > /tmp/i; chmod 755 /tmp/i; mkdir /tmp/d');
    // Not executable, or a directory: EACCES, also when a PATH search finds only such a file.
    expect((await exec('/tmp/s')).stderr).toBe(spawn('Permission denied (os error 13)'));
    expect((await exec('/tmp')).stderr).toBe(spawn('Permission denied (os error 13)'));
    expect((await sm('machine', 'exec', '--name', 'vm1', '-e', 'PATH=/tmp:/bin', '--', 'd')).stderr).toBe(spawn('Permission denied (os error 13)'));
    // musl's execvp: a bare name found nowhere on PATH, or a missing interpreter, is ENOENT.
    expect((await sm('machine', 'exec', '--name', 'vm1', '-w', '/tmp', '--', 's')).stderr).toBe(spawn('No such file or directory (os error 2)'));
    expect((await exec('/tmp/i')).stderr).toBe(spawn('No such file or directory (os error 2)'));
    expect((await exec('/tmp/e')).stderr).toBe(spawn('Exec format error (os error 8)'));
    expect((await exec('/etc/passwd/x')).stderr).toBe(spawn('Not a directory (os error 20)'));
    // The child's chdir comes first.
    expect((await sm('machine', 'exec', '--name', 'vm1', '-w', '/nope', '--', '/tmp/s')).stderr).toBe(spawn('No such file or directory (os error 2)'));
    expect((await sm('machine', 'exec', '--name', 'vm1', '-i', '--', '/tmp')).stderr).toBe(
      'Error: agent operation failed: vm exec interactive: Permission denied (os error 13)\n',
    );
    // --detach: handle_vm_exec_background, reported by AgentClient::vm_exec_background.
    expect((await sm('machine', 'exec', '--name', 'vm1', '-d', '--', '/tmp/s')).stderr).toBe(
      'Error: agent operation failed: vm exec background: failed to spawn background command: Permission denied (os error 13)\n',
    );
  });

  it('keeps the VM running after a failed exec', async () => {
    await exec('no-such-tool');
    expect(fake.machine('vm1')?.state).toBe('running');
    expect((await exec('true')).exitCode).toBe(0);
  });

  it('kills the command at --timeout with exit 124', async () => {
    const t0 = performance.now();
    const r = await sm('machine', 'exec', '--name', 'vm1', '--timeout', '100ms', '--', 'sh', '-c', 'echo started; sleep 5; echo never');
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(r).toMatchObject({ exitCode: 124, stdout: 'started\n', stderr: '', timedOut: false });
  });

  it('rejects a zero or malformed --timeout', async () => {
    const zero = await sm('machine', 'exec', '--name', 'vm1', '--timeout', '0s', '--', 'true');
    expect(zero.exitCode).toBe(2);
    expect(zero.stderr).toMatch(/^error: invalid value '0s' for '--timeout <DURATION>': timeout must be greater than 0/);
    expect((await sm('machine', 'exec', '--name', 'vm1', '--timeout', '30', '--', 'true')).stderr).toMatch(/time unit needed, for example 30sec or 30s/);
  });

  it('fails when a stream passes 11 MiB, and not at exactly 11 MiB', async () => {
    const cap = 11 * 1024 * 1024;
    fake.registerCommand('spew', ({ argv }) => ({ exitCode: 0, stdout: new Uint8Array(Number(argv[1])) }));
    expect(await exec('spew', String(cap + 1))).toMatchObject({
      exitCode: 1,
      stdout: '',
      stderr:
        'Error: agent operation failed: vm exec: command output exceeded 11534336 bytes and was truncated. ' +
        'Use streaming exec (exec_stream / execStream) for large output.\n',
    });
    expect((await exec('spew', String(cap))).stdoutBytes.length).toBe(cap);
  });

  it('has no output cap when streaming', async () => {
    fake.registerCommand('spew', () => ({ exitCode: 0, stdout: new Uint8Array(11 * 1024 * 1024 + 10) }));
    const r = await sm('machine', 'exec', '--name', 'vm1', '--stream', '--', 'spew');
    expect(r.exitCode).toBe(0);
    expect(r.stdoutBytes.length).toBe(11 * 1024 * 1024 + 10);
  });
});

describe('exec stdin, env, workdir, user', () => {
  it('gives the guest an empty stdin without -i, whatever the caller pipes', async () => {
    const r = await fake.run(['smolvm', 'machine', 'exec', '--name', 'vm1', '--', 'cat'], { stdin: 'ignored' });
    expect(r).toMatchObject({ exitCode: 0, stdout: '' });
  });

  it('streams stdin with -i', async () => {
    const r = await fake.run(['smolvm', 'machine', 'exec', '--name', 'vm1', '-i', '--', 'cat'], { stdin: 'piped\n' });
    expect(r.stdout).toBe('piped\n');
  });

  it('resolves -e KEY=VAL and bare -e KEY from the call env, over the machine env', async () => {
    const r = await fake.run(['smolvm', 'machine', 'exec', '--name', 'vm1', '-e', 'A=1', '-e', 'SECRET', '-e', 'HOST_TOKEN', '-e', 'UNSET', '--', 'env'], {
      env: { SECRET: 's3cr3t value' },
    });
    const env = Object.fromEntries(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    expect(env).toMatchObject({ A: '1', SECRET: 's3cr3t value', HOST_TOKEN: 'from-host', BAKED: '1', HOME: '/root' });
    expect(env).not.toHaveProperty('UNSET');
    // The secret value never appears in argv or the call log.
    const call = fake.calls.at(-1);
    expect(call?.argv.join(' ')).not.toContain('s3cr3t');
    expect(call?.envKeys).toEqual(['SECRET']);
  });

  it('-e overrides the machine env', async () => {
    expect((await sm('machine', 'exec', '--name', 'vm1', '-e', 'BAKED=2', '--', 'sh', '-c', 'echo $BAKED')).stdout).toBe('2\n');
  });

  it('runs in -w, else the machine workdir, else /', async () => {
    expect((await exec('pwd')).stdout).toBe('/\n');
    expect((await sm('machine', 'exec', '--name', 'vm1', '-w', '/tmp', '--', 'pwd')).stdout).toBe('/tmp\n');
    await sm('machine', 'create', '-n', 'wd', '-w', '/root');
    await sm('machine', 'start', '-n', 'wd');
    expect((await sm('machine', 'exec', '--name', 'wd', '--', 'pwd')).stdout).toBe('/root\n');
  });

  it('fails to spawn in a missing workdir', async () => {
    expect((await sm('machine', 'exec', '--name', 'vm1', '-w', '/nope', '--', 'pwd')).stderr).toBe(
      'Error: agent operation failed: vm exec: failed to spawn command: No such file or directory (os error 2)\n',
    );
  });

  it('runs as root on a bare VM', async () => {
    // Guest commands start with no supplementary groups (the agent is PID 1), so busybox prints none.
    expect((await exec('id')).stdout).toBe('uid=0(root) gid=0(root)\n');
    expect((await exec('id', '-un')).stdout).toBe('root\n');
  });

  it('runs as the image USER on an image machine, with Linux permissions', async () => {
    fake.registerImage('agent:1', {
      user: '1000:1000',
      files: { '/etc/passwd': 'root:x:0:0:root:/root:/bin/sh\nagent:x:1000:1000::/home/agent:/bin/sh\n' },
    });
    await sm('machine', 'create', '-n', 'img', '-I', 'agent:1', '--allow-host', 'registry.example');
    await sm('machine', 'start', '-n', 'img');
    const run = (...argv: string[]) => sm('machine', 'exec', '--name', 'img', '--', ...argv);
    expect((await run('id')).stdout).toBe('uid=1000(agent) gid=1000\n');
    expect((await run('sh', '-c', 'echo hi > /root/x')).stderr).toBe("sh: can't create /root/x: Permission denied\n");
    // Root-owned 0644 files (what cp makes without --uid) are readable but not writable (#996).
    expect((await run('head', '-c', '4', '/etc/passwd')).stdout).toBe('root');
    expect(await run('sh', '-c', 'echo > /etc/passwd')).toMatchObject({
      exitCode: 1,
      stderr: "sh: can't create /etc/passwd: Permission denied\n",
    });
    expect((await run('sh', '-c', 'echo ok > /tmp/mine && stat -c %u /tmp/mine')).stdout).toBe('1000\n');
  });

  it('reports crun-style failures for a missing program on an image machine', async () => {
    await sm('machine', 'create', '-n', 'img', '-I', 'alpine', '--net');
    await sm('machine', 'start', '-n', 'img');
    const r = await sm('machine', 'exec', '--name', 'img', '--', 'nope');
    expect(r.exitCode).toBe(127);
    expect(r.stderr).toContain('nope');
    const slow = await sm('machine', 'exec', '--name', 'img', '--timeout', '50ms', '--', 'sleep', '3');
    expect(slow).toMatchObject({ exitCode: 124, stderr: '\ncommand timed out after 50ms' });
  });

  it('merges stderr into stdout under -t and sets TERM', async () => {
    const r = await sm('machine', 'exec', '--name', 'vm1', '-t', '--', 'sh', '-c', 'echo a; echo b >&2; echo $TERM');
    expect(r).toMatchObject({ stdout: 'a\nb\nxterm-256color\n', stderr: '' });
  });

  it('-d prints a pid and returns at once', async () => {
    const r = await sm('machine', 'exec', '--name', 'vm1', '-d', '--', 'sleep', '1');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^\d+\n$/);
    const conflict = await sm('machine', 'exec', '--name', 'vm1', '-d', '-i', '--', 'true');
    expect(conflict.exitCode).toBe(2);
    expect(conflict.stderr).toMatch(/^error: the argument '--detach' cannot be used with '--interactive'\n/);
  });
});

describe('registered guest commands', () => {
  it('receive argv, stdin, env, cwd, the machine fs and user', async () => {
    const seen: unknown[] = [];
    fake.registerCommand('claude', async ({ argv, stdin, env, cwd, fs, machineName, user }) => {
      seen.push({ argv, stdin: new TextDecoder().decode(stdin), key: env.ANTHROPIC_API_KEY, cwd, machineName, user: user.name });
      fs.writeFileSync('/root/.claude.json', '{}');
      return { exitCode: 3, stdout: 'answer\n', stderr: new TextEncoder().encode('warn\n') };
    });
    const r = await fake.run(
      ['smolvm', 'machine', 'exec', '--name', 'vm1', '-i', '-w', '/tmp', '-e', 'ANTHROPIC_API_KEY', '--', '/usr/local/bin/claude', '-p', 'hi'],
      { stdin: 'prompt', env: { ANTHROPIC_API_KEY: 'sk-test' } },
    );
    expect(r).toMatchObject({ exitCode: 3, stdout: 'answer\n', stderr: 'warn\n' });
    expect(seen).toEqual([{ argv: ['/usr/local/bin/claude', '-p', 'hi'], stdin: 'prompt', key: 'sk-test', cwd: '/tmp', machineName: 'vm1', user: 'root' }]);
    expect(fake.guestFs('vm1').existsSync('/root/.claude.json')).toBe(true);
    expect((await exec('sh', '-c', 'command -v claude')).stdout).toBe('/usr/local/bin/claude\n');
  });

  it('can be called from sh and see the abort signal on timeout', async () => {
    let aborted = false;
    fake.registerCommand(
      'waiter',
      ({ signal }) =>
        new Promise((resolve) => {
          signal.addEventListener('abort', () => {
            aborted = true;
            resolve({ exitCode: 137 });
          });
        }),
    );
    const r = await sm('machine', 'exec', '--name', 'vm1', '--timeout', '50ms', '--', 'sh', '-c', 'waiter');
    expect(r.exitCode).toBe(124);
    expect(aborted).toBe(true);
  });
});
