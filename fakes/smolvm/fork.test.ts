// `machine start --forkable` and `machine fork` as smolvm 1.9.2 does them. Each block names the
// source (tag v1.9.2) it was read from: src/cli/machine.rs (`StartCmd`, `ForkCmd::run`),
// src/cli/vm_common.rs (`fork_vm`, `boot_prepared_fork`), src/agent/fork.rs.
import { describe, expect, it } from 'vitest';
import { createFakeSmolvm, type FakeSmolvm } from '../index.ts';

const sm = (fake: FakeSmolvm, ...args: string[]) => fake.run(['smolvm', ...args]);
const sh = (fake: FakeSmolvm, name: string, script: string) => sm(fake, 'machine', 'exec', '--name', name, '--', 'sh', '-c', script);
const read = (fake: FakeSmolvm, name: string, path: string) => String(fake.asGuestRoot(name, (fs) => fs.readFileSync(path, 'utf8')));

/** A running forkable golden `g` with a file on its disk and one in its tmpfs. */
async function golden(...create: string[]): Promise<FakeSmolvm> {
  const fake = createFakeSmolvm({ generateShortId: () => '0badf00d', clock: () => 1_700_000_000_000 });
  expect((await sm(fake, 'machine', 'create', '-n', 'g', ...create)).exitCode).toBe(0);
  expect((await sm(fake, 'machine', 'start', '-n', 'g', '--forkable')).exitCode).toBe(0);
  expect((await sh(fake, 'g', 'echo base > /root/state; echo ram > /tmp/ram')).exitCode).toBe(0);
  return fake;
}

describe('start --forkable (machine.rs StartCmd; vm_common.rs start_vm_named_with_db; agent forkpoint.rs setup)', () => {
  it('prints what a plain start prints and records nothing that status --json shows', async () => {
    const fake = createFakeSmolvm();
    await sm(fake, 'machine', 'create', '-n', 'g');
    const r = await sm(fake, 'machine', 'start', '-n', 'g', '--forkable');
    expect(r).toMatchObject({ exitCode: 0, stdout: "Machine 'g' running (PID: 41000)\n", stderr: "Starting machine 'g'...\n" });
    // `forkable` is `VmRecord::forkable_on_start()`, a Smolfile's flag; the launch flag is per boot.
    expect(JSON.parse((await sm(fake, 'machine', 'status', '-n', 'g', '--json')).stdout)).toMatchObject({
      state: 'running',
      forkable: false,
      forkpoint_held: false,
    });
    expect((await sm(fake, 'machine', 'ls', '-v')).stdout).not.toContain('Forkable');
  });

  it('gives the guest the forkpoint state dir and helper links; the helper refuses honestly', async () => {
    const fake = await golden();
    const r = await sh(
      fake,
      'g',
      'stat -c "%a %U" /run/smolvm/forkpoint; readlink /usr/local/bin/smolvm-fork-ready; readlink /usr/local/bin/smolvm-worker-ready',
    );
    expect(r.stdout).toBe('1777 root\n/usr/local/bin/smolvm-agent\n/usr/local/bin/smolvm-agent\n');
    const helper = await sh(fake, 'g', 'smolvm-fork-ready');
    expect(helper).toMatchObject({ exitCode: 1, stderr: 'smolvm-fork-ready: not modelled by the fake smolvm\n' });
  });

  it('does not make an already-running machine forkable: its FORK is refused by libkrun', async () => {
    const fake = createFakeSmolvm();
    await sm(fake, 'machine', 'create', '-n', 'g');
    await sm(fake, 'machine', 'start', '-n', 'g');
    expect((await sm(fake, 'machine', 'start', '-n', 'g', '--forkable')).stdout).toBe("Machine 'g' already running (PID: 41000)\n");
    const r = await sm(fake, 'machine', 'fork', '--golden', 'g', '-n', 'c');
    expect(r).toMatchObject({
      exitCode: 1,
      stdout: '',
      stderr:
        "Freezing golden 'g' as fork base...\n" +
        'Error: agent operation failed: fork: golden FORK failed: ERR EINVAL no memfd-backed RAM (start the golden VM with SMOLVM_FORKABLE=1)\n',
    });
    expect(fake.machine('c')).toBeUndefined();
    expect(fake.machine('g')?.state).toBe('running');
    expect((await sh(fake, 'g', 'echo alive')).stdout).toBe('alive\n');
  });

  it('a default machine booted with no record ignores --forkable (start_vm_default takes no fork launch)', async () => {
    const fake = createFakeSmolvm();
    await sm(fake, 'machine', 'start', '--forkable');
    expect((await sm(fake, 'machine', 'fork', '--golden', 'default', '-n', 'c')).stderr).toContain('no memfd-backed RAM');
  });
});

describe('one clone (vm_common.rs fork_vm; fork.rs prepare_forks_reusing, prepare_clone_from_snapshot)', () => {
  it('freezes the golden, boots the clone from the snapshot and says so', async () => {
    const fake = await golden();
    const r = await sm(fake, 'machine', 'fork', '--golden', 'g', '--name', 'c');
    expect(r).toMatchObject({
      exitCode: 0,
      stdout: "Machine 'c' running (PID: 41001)\n",
      stderr:
        "Freezing golden 'g' as fork base...\n" +
        "Booting clone 'c' from snapshot...\n" +
        "Starting machine 'c'...\n" +
        "Forked 'g' -> 'c'. Golden stays frozen as the fork base (do not start it again while clones exist).\n",
    });
    // state_probe.rs: a fork base resolves to "frozen" without a probe, its pid kept.
    expect((await sm(fake, 'machine', 'status', '-n', 'g')).stdout).toBe("Machine 'g': frozen\n");
    expect(JSON.parse((await sm(fake, 'machine', 'status', '-n', 'g', '--json')).stdout)).toMatchObject({ state: 'frozen', pid: 41000 });
    expect((await sm(fake, 'machine', 'ls')).stdout).toMatch(/^g +frozen /m);
    expect(fake.machine('c')).toMatchObject({ state: 'running', golden: 'g', forkpointHeld: false });
  });

  it('gives each clone an independent copy of the golden filesystem, tmpfs included', async () => {
    const fake = await golden();
    await sm(fake, 'machine', 'fork', '--golden', 'g', '-n', 'c1');
    await sm(fake, 'machine', 'fork', '--golden', 'g', '-n', 'c2');
    expect((await sh(fake, 'c1', 'cat /root/state /tmp/ram')).stdout).toBe('base\nram\n');
    await sh(fake, 'c1', 'echo c1 > /root/state; echo new > /root/only-c1');
    expect((await sh(fake, 'c2', 'cat /root/state; ls /root')).stdout).toBe('base\nstate\n');
    // The paused golden cannot be exec'd into; its disk is read through the test hook.
    expect(read(fake, 'g', '/root/state')).toBe('base\n');
    expect(fake.asGuestRoot('g', (fs) => fs.existsSync('/root/only-c1'))).toBe(false);
  });

  it('copies the record: labels, env, network, resources; remaps inherited ports', async () => {
    const fake = await golden('--label', 'team=a', '-e', 'A=1', '-e', 'X=golden', '--net', '-p', '8080:80', '--cpus', '2', '--mem', '512', '-w', '/root');
    const r = await sm(fake, 'machine', 'fork', '--golden', 'g', '-n', 'c', '-e', 'X={name}-{index}');
    expect(r.stderr).toContain('  port 8080->80 (golden) remapped to 49152->80 (clone)\n');
    expect(fake.machine('c')).toMatchObject({
      labels: { team: 'a' },
      env: { A: '1', X: 'c-0' },
      network: true,
      cpus: 2,
      memMib: 512,
      workdir: '/root',
      ports: [{ host: 49152, guest: 80 }],
      createdAt: fake.machine('g')?.createdAt,
    });
    // A single clone gets no SMOLVM_FORK_* identity (render_indexed_fork_env(include_identity=false)).
    expect((await sm(fake, 'machine', 'exec', '--name', 'c', '--', 'sh', '-c', 'echo $X; env | grep -c SMOLVM_FORK || true')).stdout).toBe('c-0\n0\n');
  });

  it('gives the clone its own identity and its fork env (build_rejuvenation_script, write_fork_env)', async () => {
    const fake = await golden();
    await sm(fake, 'machine', 'fork', '--golden', 'g', '-n', 'c', '-e', 'JOB=7');
    const r = await sh(
      fake,
      'c',
      'hostname; cat /etc/hostname /etc/smolvm/fork-env; stat -c "%a" /etc/smolvm/fork-env /run/smolvm/forkpoint/restored; cat /run/smolvm/forkpoint/restored',
    );
    expect(r.stdout).toBe('c\nc\nJOB=7\n600\n600\nsmolvm-forkpoint-restored-v1\n');
    const id = read(fake, 'c', '/etc/machine-id');
    expect(id).toMatch(/^[0-9a-f]{32}\n$/);
    expect(fake.asGuestRoot('g', (fs) => fs.existsSync('/etc/machine-id') && String(fs.readFileSync('/etc/machine-id')))).not.toBe(id);
    // No parameters, no file (write_fork_env returns early on an empty env).
    await sm(fake, 'machine', 'fork', '--golden', 'g', '-n', 'plain');
    expect(fake.asGuestRoot('plain', (fs) => fs.existsSync('/etc/smolvm/fork-env'))).toBe(false);
  });

  it('does not run the workload again in the clone (from_snapshot)', async () => {
    const fake = createFakeSmolvm();
    await sm(fake, 'machine', 'create', '-n', 'g', '--', 'sh', '-c', 'echo run >> /root/runs');
    await sm(fake, 'machine', 'start', '-n', 'g', '--forkable');
    await sm(fake, 'machine', 'fork', '--golden', 'g', '-n', 'c');
    expect((await sh(fake, 'c', 'cat /root/runs')).stdout).toBe('run\n');
  });

  it('reuses the retained checkpoint: a second fork sees the golden as frozen the first time', async () => {
    const fake = await golden();
    await sm(fake, 'machine', 'fork', '--golden', 'g', '-n', 'c1');
    // A paused golden answers STATUS "OK paused": --wait-ready returns at once, no marker needed.
    const r = await sm(fake, 'machine', 'fork', '--golden', 'g', '-n', 'c2', '--wait-ready');
    expect(r.exitCode).toBe(0);
    expect(r.stderr.startsWith("Waiting for golden 'g' to reach its forkpoint...\nFreezing golden 'g' as fork base...\n")).toBe(true);
    expect(read(fake, 'c2', '/run/smolvm/forkpoint/release')).toBe('smolvm-forkpoint-release-v1\n');
  });

  it('pins ports with -p; a pinned port held by a running machine fails the boot and rolls back', async () => {
    const fake = await golden('-p', '8080:80');
    const pinned = await sm(fake, 'machine', 'fork', '--golden', 'g', '-n', 'c', '-p', '9090:80');
    expect(pinned.stderr).toContain('  port 9090->80 (pinned)\n');
    expect(fake.machine('c')?.ports).toEqual([{ host: 9090, guest: 80 }]);

    const fresh = await golden('-p', '8080:80');
    const r = await sm(fresh, 'machine', 'fork', '--golden', 'g', '-n', 'c', '-p', '8080:80');
    expect(r).toMatchObject({
      exitCode: 1,
      stderr:
        "Freezing golden 'g' as fork base...\n  port 8080->80 (pinned)\nBooting clone 'c' from snapshot...\n" +
        "Error: config operation failed: start machine: host port 8080 is already in use by running machine 'g'\n",
    });
    // rollback_failed_fork: the clone is torn down and the golden resumed, not frozen.
    expect(fresh.machine('c')).toBeUndefined();
    expect(fresh.machine('g')?.state).toBe('running');
    expect((await sh(fresh, 'g', 'cat /root/state')).stdout).toBe('base\n');
  });

  it('--count 1 --name-prefix P forks one clone named P-0, without batch identity', async () => {
    const fake = await golden();
    expect((await sm(fake, 'machine', 'fork', '--golden', 'g', '--name-prefix', 'w')).stderr).toContain("Forked 'g' -> 'w-0'.");
    expect(fake.machine('w-0')?.env).toEqual({});
  });
});

describe('refusals before anything is frozen (machine.rs ForkCmd::run, clap)', () => {
  const cases: Array<[string[], string]> = [
    [['--count', '1025', '--name-prefix', 'w'], 'config operation failed: fork: --count cannot exceed 1024 clones per batch'],
    [['-n', 'c', '--hold', '--forkable'], 'config operation failed: fork: --hold cannot be combined with --forkable; pool slots are disposable leaves'],
    [['-n', 'c', '--name-prefix', 'w'], 'config operation failed: fork: use either --name or --name-prefix, not both'],
    [[], 'config operation failed: fork: --name is required for one clone; use --name-prefix with --count for a batch'],
    [['--count', '2', '-n', 'c'], 'config operation failed: fork: --name cannot be used with --count greater than 1; use --name-prefix'],
    [['--count', '2'], 'config operation failed: fork: --name-prefix is required with --count greater than 1'],
    [['--count', '2', '--name-prefix', 'w', '--forkable'], 'config operation failed: fork: --forkable is not supported for batch clones'],
    [
      ['--count', '2', '--name-prefix', 'w', '-p', '1:2'],
      'config operation failed: fork: pinned --port mappings are not supported for a batch; inherited ports are remapped automatically',
    ],
  ];
  for (const [extra, text] of cases) {
    it(`refuses ${extra.join(' ') || 'no name'}`, async () => {
      const fake = await golden();
      expect(await sm(fake, 'machine', 'fork', '--golden', 'g', ...extra)).toMatchObject({ exitCode: 1, stdout: '', stderr: `Error: ${text}\n` });
      expect(fake.machine('g')?.state).toBe('running');
    });
  }

  it('leaves clap to refuse a zero count and a missing --golden (exit 2)', async () => {
    const fake = createFakeSmolvm();
    const zero = await sm(fake, 'machine', 'fork', '--golden', 'g', '--count', '0');
    expect(zero.exitCode).toBe(2);
    expect(zero.stderr).toContain("error: invalid value '0' for '--count <COUNT>': number would be zero for non-zero type");
    const missing = await sm(fake, 'machine', 'fork', '-n', 'c');
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain('error: the following required arguments were not provided:\n  --golden <NAME>');
  });

  it('refuses what it does not model: secrets and CUDA weight sharing', async () => {
    for (const flag of [['--share-weights'], ['--secret-env', 'A=B'], ['--secret-file', 'A=/f']]) {
      const r = await sm(createFakeSmolvm(), 'machine', 'fork', '--golden', 'g', '-n', 'c', ...flag);
      expect(r).toMatchObject({ exitCode: 1, stderr: `Error: config operation failed: fake smolvm: 'machine fork ${flag[0]}' is not modelled by the fake\n` });
    }
  });
});

describe('refusals while preparing (fork.rs prepare_forks_reusing), after "Freezing golden"', () => {
  const freezing = "Freezing golden 'g' as fork base...\n";
  it('checks the clone first: name, fork env, nesting, existence, pinned ports', async () => {
    const fake = await golden();
    await sm(fake, 'machine', 'create', '-n', 'taken');
    const cases: Array<[string[], string]> = [
      [['-n', 'bad-'], 'config operation failed: clone name: clone name cannot end with a hyphen (got: "bad-")'],
      [['-n', 'a/b'], 'config operation failed: clone name: clone name cannot contain path separators'],
      [['-n', 'c', '-e', '1X=v'], "config operation failed: fork env: invalid key '1X': must match [A-Za-z_][A-Za-z0-9_]*"],
      [
        ['-n', 'c', '--forkable'],
        'agent operation failed: fork: nested fork is not supported: a clone cannot be re-forked, so `forkable` on a fork has no effect (drop it)',
      ],
      [['-n', 'taken'], "agent operation failed: fork: machine 'taken' already exists"],
      [['-n', 'c', '-p', '1:2', '-p', '1:3'], 'config operation failed: fork: host port 1 is assigned to more than one clone'],
    ];
    for (const [extra, text] of cases) {
      expect(await sm(fake, 'machine', 'fork', '--golden', 'g', ...extra)).toMatchObject({ exitCode: 1, stderr: `${freezing}Error: ${text}\n` });
    }
    expect(fake.machineNames()).toEqual(['g', 'taken']);
    expect(fake.machine('g')?.state).toBe('running');
  });

  it('then the golden: missing, never started, stopped', async () => {
    const fake = createFakeSmolvm();
    expect((await sm(fake, 'machine', 'fork', '--golden', 'g', '-n', 'c')).stderr).toBe(`${freezing}Error: vm not found: g\n`);
    await sm(fake, 'machine', 'create', '-n', 'g');
    expect((await sm(fake, 'machine', 'fork', '--golden', 'g', '-n', 'c')).stderr).toBe(
      `${freezing}Error: agent operation failed: fork: golden 'g' is not running forkable; start it with \`machine start --forkable --name g\`\n`,
    );
    await sm(fake, 'machine', 'start', '-n', 'g', '--forkable');
    await sm(fake, 'machine', 'stop', '-n', 'g');
    expect((await sm(fake, 'machine', 'fork', '--golden', 'g', '-n', 'c')).stderr).toBe(
      `${freezing}Error: agent operation failed: fork: golden 'g' control socket not responding ` +
        '(agent operation failed: connect control socket: Connection refused (os error 111)); ' +
        'start it with `machine start --forkable --name g`\n',
    );
  });

  it('refuses, as not modelled, a golden whose SSH host keys the identity reset would rotate', async () => {
    const fake = await golden();
    fake.asGuestRoot('g', (fs) => {
      fs.mkdirSync('/etc/ssh', { recursive: true });
      fs.writeFileSync('/etc/ssh/ssh_host_ed25519_key', 'k');
    });
    const r = await sm(fake, 'machine', 'fork', '--golden', 'g', '-n', 'c');
    expect(r.stderr).toContain("'machine fork of a golden with SSH host keys (/etc/ssh/ssh_host_ed25519_key)' is not modelled by the fake");
    expect(fake.machine('g')?.state).toBe('running');
  });
});
