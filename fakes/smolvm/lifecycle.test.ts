import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { createFakeSmolvm, type FakeSmolvm } from '../index.ts';

const sm = (fake: FakeSmolvm, ...args: string[]) => fake.run(['smolvm', ...args]);
const started = async (name = 'm1', ...extra: string[]): Promise<FakeSmolvm> => {
  const fake = createFakeSmolvm({ generateShortId: () => 'c0ffee00' });
  expect((await sm(fake, 'machine', 'create', '--name', name, ...extra)).exitCode).toBe(0);
  expect((await sm(fake, 'machine', 'start', '--name', name)).exitCode).toBe(0);
  return fake;
};

describe('smolvm --version and top level', () => {
  it('prints the modelled version', async () => {
    const r = await sm(createFakeSmolvm(), '--version');
    expect(r).toMatchObject({ exitCode: 0, stdout: 'smolvm 1.9.2\n', stderr: '' });
    expect((await sm(createFakeSmolvm({ version: '1.17.0' }), '-V')).stdout).toBe('smolvm 1.17.0\n');
  });

  it('rejects unknown subcommands clap-style with exit 2', async () => {
    const r = await sm(createFakeSmolvm(), 'machin');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe("error: unrecognized subcommand 'machin'\n\nUsage: smolvm <COMMAND>\n\nFor more information, try '--help'.\n");
    const s = await sm(createFakeSmolvm(), 'machine', 'frobnicate');
    expect(s.exitCode).toBe(2);
    expect(s.stderr).toContain("error: unrecognized subcommand 'frobnicate'");
  });

  it('prints help on stderr with exit 2 when the subcommand is missing', async () => {
    expect((await sm(createFakeSmolvm())).exitCode).toBe(2);
    const r = await sm(createFakeSmolvm(), 'machine');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('Usage: smolvm machine <COMMAND>');
  });

  it('answers --help on stdout with exit 0', async () => {
    const r = await sm(createFakeSmolvm(), 'machine', 'cp', '--help');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('Usage: smolvm machine cp [OPTIONS] <SRC> <DST>');
  });

  it('refuses real subcommands it does not model with an honest Error line', async () => {
    const r = await sm(createFakeSmolvm(), 'machine', 'run', '--', 'true');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/^Error: config operation failed: fake smolvm: 'machine run' is not modelled by the fake\n$/);
  });

  it('accepts the vm alias and the rm/list aliases', async () => {
    const fake = createFakeSmolvm();
    expect((await sm(fake, 'vm', 'create', '-n', 'a')).exitCode).toBe(0);
    expect((await sm(fake, 'vm', 'list', '--json')).stdout).toContain('"name": "a"');
    expect((await sm(fake, 'vm', 'rm', '-n', 'a', '-f')).stdout).toBe('Deleted machine: a\n');
  });
});

describe('smolvm --help (src/main.rs: long_about = AGENTS.md, clap 4 long help)', () => {
  it('prints the long help for --help and help, the short one for -h', async () => {
    const fake = createFakeSmolvm();
    const long = await sm(fake, '--help');
    expect(long.exitCode).toBe(0);
    expect(long.stdout).toMatch(/^# smolvm — Agent Reference\n\nA tool to build and run portable/);
    expect(long.stdout).toContain('\n\n\nUsage: smolvm <COMMAND>\n\nCommands:\n  machine  Manage machines');
    expect(long.stdout).toContain("Options:\n  -h, --help\n          Print help (see a summary with '-h')\n\n  -V, --version\n");
    expect(long.stdout.endsWith('\n\nAgents: run `smolvm --help` for full documentation including CLI reference and Smolfile schema\n')).toBe(true);
    expect((await sm(fake, 'help')).stdout).toBe(long.stdout);
    const short = await sm(fake, '-h');
    expect(short.stdout).toMatch(/^Build and run portable, self-contained virtual machines\n\nUsage: smolvm <COMMAND>\n/);
    expect(short.stdout).toContain("  -h, --help     Print help (see more with '--help')\n  -V, --version  Print version\n");
    expect(short.stdout).not.toBe(long.stdout);
  });
});

describe('machine start', () => {
  it('starts, then reports already running without failing', async () => {
    const fake = createFakeSmolvm();
    expect((await sm(fake, 'machine', 'create', '-n', 's', '-v', `${tmpdir()}:/data`, '-p', '8080:80')).exitCode).toBe(0);
    const first = await sm(fake, 'machine', 'start', '-n', 's');
    expect(first.exitCode).toBe(0);
    expect(first.stderr).toBe("Starting machine 's' with 1 mount(s) and 1 port mapping(s)...\n");
    const pid = fake.machine('s')?.pid;
    expect(first.stdout).toBe(`Machine 's' running (PID: ${pid})\n`);
    const again = await sm(fake, 'machine', 'start', '--name', 's');
    expect(again).toMatchObject({ exitCode: 0, stdout: `Machine 's' already running (PID: ${pid})\n`, stderr: '' });
  });

  it('fails for an unknown explicit name', async () => {
    const r = await sm(createFakeSmolvm(), 'machine', 'start', '--name', 'ghost');
    expect(r).toMatchObject({ exitCode: 1, stdout: '', stderr: 'Error: vm not found: ghost\n' });
  });

  it('creates and boots "default" when no name is given and none exists', async () => {
    const fake = createFakeSmolvm();
    const r = await sm(fake, 'machine', 'start');
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe("Starting machine 'default'...\n");
    expect(fake.machine('default')?.state).toBe('running');
  });

  it('pulls a registered image on first start and runs as its user', async () => {
    const fake = createFakeSmolvm();
    fake.registerImage('ghcr.io/acme/agent:1', {
      user: 'node',
      env: { NODE_ENV: 'production' },
      workdir: '/home/node',
      files: {
        '/etc/passwd': 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n',
        '/etc/group': 'root:x:0:root\nnode:x:1000:\n',
        '/home/node': { type: 'dir', mode: 0o755, uid: 1000, gid: 1000 },
      },
    });
    await sm(fake, 'machine', 'create', '-n', 'img', '-I', 'ghcr.io/acme/agent:1', '--net');
    const r = await sm(fake, 'machine', 'start', '-n', 'img');
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain('Pulling ghcr.io/acme/agent:1...\n');
    expect(fake.machine('img')?.user).toEqual({ name: 'node', uid: 1000, gid: 1000, home: '/home/node' });
    const id = await sm(fake, 'machine', 'exec', '--name', 'img', '--', 'sh', '-c', 'id -un; pwd; echo $NODE_ENV');
    expect(id.stdout).toBe('node\n/home/node\nproduction\n');
  });

  it('fails the pull of an unknown image and leaves the machine not running', async () => {
    const fake = createFakeSmolvm();
    await sm(fake, 'machine', 'create', '-n', 'bad', '-I', 'nosuch/image:1', '--net');
    const r = await sm(fake, 'machine', 'start', '-n', 'bad');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/\nError: agent operation failed: pull image: .*nosuch\/image:1/);
    expect(fake.machine('bad')?.state).toBe('created');
  });

  it('runs init commands on first boot only and fails start when one fails', async () => {
    const fake = createFakeSmolvm();
    await sm(fake, 'machine', 'create', '-n', 'i', '--init', 'echo booted >> /root/boot.log');
    expect((await sm(fake, 'machine', 'start', '-n', 'i')).stdout).toMatch(/^Running 1 init command\(s\)\.\.\.\n/);
    await sm(fake, 'machine', 'stop', '-n', 'i');
    expect((await sm(fake, 'machine', 'start', '-n', 'i')).stdout).toMatch(/^Init already completed, skipping 1 command\(s\)\n/);
    expect(String(fake.guestFs('i').readFileSync('/root/boot.log', 'utf8'))).toBe('booted\n');

    await sm(fake, 'machine', 'create', '-n', 'f', '--init', 'echo out; echo err >&2; exit 3');
    const r = await sm(fake, 'machine', 'start', '-n', 'f');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('Error: agent operation failed: init: init[0] failed (exit 3): err; stdout: out\n');
    expect(fake.machine('f')?.state).toBe('created');
  });

  it('empties tmpfs paths on restart but keeps the rest of the filesystem', async () => {
    const fake = await started('t');
    await sm(fake, 'machine', 'exec', '--name', 't', '--', 'sh', '-c', 'echo a > /tmp/a; echo b > /root/b');
    await sm(fake, 'machine', 'stop', '-n', 't');
    await sm(fake, 'machine', 'start', '-n', 't');
    const vol = fake.guestFs('t');
    expect(vol.existsSync('/tmp/a')).toBe(false);
    expect(vol.existsSync('/root/b')).toBe(true);
    expect(Number(vol.statSync('/tmp').mode) & 0o7777).toBe(0o1777);
  });
});

describe('machine stop', () => {
  it('stops, then reports not running without failing', async () => {
    const fake = await started('s');
    expect(await sm(fake, 'machine', 'stop', '-n', 's')).toMatchObject({
      exitCode: 0,
      stdout: "Stopping machine 's'...\nStopped machine: s\n",
    });
    expect(await sm(fake, 'machine', 'stop', '-n', 's')).toMatchObject({
      exitCode: 0,
      stdout: "Machine 's' is not running (state: stopped)\n",
    });
    await sm(fake, 'machine', 'create', '-n', 'c');
    expect((await sm(fake, 'machine', 'stop', '-n', 'c')).stdout).toBe("Machine 'c' is not running (state: created)\n");
  });

  it('fails for an unknown name, and validates the name first', async () => {
    expect(await sm(createFakeSmolvm(), 'machine', 'stop', '-n', 'ghost')).toMatchObject({
      exitCode: 1,
      stderr: 'Error: vm not found: ghost\n',
    });
    expect((await sm(createFakeSmolvm(), 'machine', 'stop', '-n', 'a b')).stderr).toBe(
      "Error: config operation failed: validate machine name: machine name contains invalid character: ' '\n",
    );
  });

  it('stops "default" quietly when nothing exists', async () => {
    expect(await sm(createFakeSmolvm(), 'machine', 'stop')).toMatchObject({
      exitCode: 0,
      stdout: "Stopping machine 'default'...\nMachine 'default' stopped\n",
    });
  });
});

describe('machine delete', () => {
  it('stops and deletes with -f', async () => {
    const fake = await started('d');
    const r = await sm(fake, 'machine', 'delete', '-n', 'd', '-f');
    expect(r).toMatchObject({
      exitCode: 0,
      stdout: "Stopping machine 'd'...\nCleaning up data directory for vm: d\nDeleted machine: d\n",
      stderr: '',
    });
    expect(fake.machine('d')).toBeUndefined();
  });

  it('fails for an unknown machine', async () => {
    expect(await sm(createFakeSmolvm(), 'machine', 'delete', '--name', 'ghost', '-f')).toMatchObject({
      exitCode: 1,
      stderr: 'Error: vm not found: ghost\n',
    });
  });

  it('requires --name', async () => {
    const r = await sm(createFakeSmolvm(), 'machine', 'delete', '-f');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe(
      'error: the following required arguments were not provided:\n  --name <NAME>\n\n' +
        "Usage: smolvm machine delete [OPTIONS] --name <NAME>\n\nFor more information, try '--help'.\n",
    );
  });

  it('prompts without -f: EOF cancels but the machine was already stopped', async () => {
    const fake = await started('p');
    const r = await sm(fake, 'machine', 'delete', '-n', 'p');
    expect(r).toMatchObject({ exitCode: 0, stdout: "Stopping machine 'p'...\nCancelled\n", stderr: "Delete machine 'p'? [y/N] " });
    expect(fake.machine('p')?.state).toBe('stopped');
  });

  it('prompts without -f: "y" deletes, anything else cancels', async () => {
    const fake = createFakeSmolvm();
    await sm(fake, 'machine', 'create', '-n', 'p');
    expect((await fake.run(['smolvm', 'machine', 'delete', '-n', 'p'], { stdin: 'no\n' })).stdout).toBe('Cancelled\n');
    const yes = await fake.run(['smolvm', 'machine', 'delete', '-n', 'p'], { stdin: 'YES\n' });
    expect(yes.stdout).toBe('Deleted machine: p\n');
    expect(fake.machine('p')).toBeUndefined();
  });
});

describe('machine status and ls', () => {
  it('reports each state in text', async () => {
    const fake = await started('r');
    await sm(fake, 'machine', 'create', '-n', 'c');
    const pid = fake.machine('r')?.pid;
    expect((await sm(fake, 'machine', 'status', '-n', 'r')).stdout).toBe(`Machine 'r': running (PID: ${pid})\n`);
    expect((await sm(fake, 'machine', 'status', '-n', 'c')).stdout).toBe("Machine 'c': created\n");
    await sm(fake, 'machine', 'stop', '-n', 'r');
    expect((await sm(fake, 'machine', 'status', '-n', 'r')).stdout).toBe("Machine 'r': stopped\n");
    expect((await sm(fake, 'machine', 'status')).stdout).toBe("Machine 'default': not running\n");
  });

  it('fails for an unknown machine, with a different text under --json', async () => {
    expect(await sm(createFakeSmolvm(), 'machine', 'status', '-n', 'x')).toMatchObject({
      exitCode: 1,
      stderr: 'Error: vm not found: x\n',
    });
    expect(await sm(createFakeSmolvm(), 'machine', 'status', '-n', 'x', '--json')).toMatchObject({
      exitCode: 1,
      stderr: "Error: config operation failed: machine status: machine 'x' not found\n",
    });
  });

  it('prints the machine_status_json object with sorted keys', async () => {
    const fake = createFakeSmolvm({ clock: () => 1_700_000_000_000 });
    await sm(fake, 'machine', 'create', '-n', 'j', '--label', 'owner=bottle', '--label', 'app=x', '--net', '--storage', '30');
    const r = await sm(fake, 'machine', 'status', '-n', 'j', '--json');
    expect(r.exitCode).toBe(0);
    const json = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(json).toEqual({
      cmd: [],
      cpus: 4,
      created_at: 1_700_000_000,
      cuda: false,
      cuda_fork_pool_size: null,
      cuda_vram_limit_mib: null,
      entrypoint: [],
      ephemeral: false,
      forkable: false,
      forkpoint_held: false,
      gpu: false,
      gpu_vram_mib: null,
      health_cmd: null,
      health_interval_secs: null,
      health_retries: null,
      health_startup_grace_secs: null,
      health_timeout_secs: null,
      image: null,
      labels: { app: 'x', owner: 'bottle' },
      memory_mib: 8192,
      mounts: 0,
      name: 'j',
      network: true,
      overlay_gb: null,
      pid: null,
      ports: 0,
      restart_count: 0,
      restart_max_retries: 0,
      restart_policy: 'never',
      state: 'created',
      storage_gb: 30,
    });
    expect(Object.keys(json)).toEqual(Object.keys(json).sort());
    expect(r.stdout).toBe(`${JSON.stringify(json, null, 2)}\n`);
  });

  it('lists machines as a JSON array, [] when empty, and as a table', async () => {
    const fake = createFakeSmolvm();
    expect((await sm(fake, 'machine', 'ls', '--json')).stdout).toBe('[]\n');
    expect((await sm(fake, 'machine', 'ls')).stdout).toBe('No machines found\n');
    await sm(fake, 'machine', 'create', '-n', 'b', '--label', 'k=v');
    await sm(fake, 'machine', 'create', '-n', 'a');
    const list = JSON.parse((await sm(fake, 'machine', 'ls', '--json')).stdout) as Array<{ name: string; labels: object }>;
    expect(list.map((m) => m.name)).toEqual(['a', 'b']);
    expect(list[1]?.labels).toEqual({ k: 'v' });
    const table = (await sm(fake, 'machine', 'ls')).stdout.split('\n');
    expect(table[0]).toBe('NAME                 STATE         CPUS     MEMORY  MOUNTS   PORTS  STORAGE  OVERLAY');
    expect(table[2]).toBe('a                    created          4   8192 MiB       0       0   20 GiB   10 GiB');
  });
});
