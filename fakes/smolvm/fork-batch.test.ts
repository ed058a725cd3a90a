// Batch forks, the forkpoint wait, held slots and `fork-release`, as smolvm 1.9.2 does them:
// src/cli/machine.rs (`ForkCmd::run`, `render_indexed_fork_env`, `fork_batch_id`,
// `forkpoint_timeout`, `ForkReleaseCmd`), src/cli/vm_common.rs (`fork_vm_batch`,
// `release_held_fork`), src/agent/fork.rs (`wait_for_forkpoint`, `release_forkpoint`,
// `activate_held_fork`), crates/smolvm-protocol/src/forkpoint.rs (the guest paths).
import { describe, expect, it } from 'vitest';
import { createFakeSmolvm, type FakeSmolvm } from '../index.ts';

const sm = (fake: FakeSmolvm, ...args: string[]) => fake.run(['smolvm', ...args]);
const sh = (fake: FakeSmolvm, name: string, script: string) => sm(fake, 'machine', 'exec', '--name', name, '--', 'sh', '-c', script);
const read = (fake: FakeSmolvm, name: string, path: string) => String(fake.asGuestRoot(name, (fs) => fs.readFileSync(path, 'utf8')));
const exists = (fake: FakeSmolvm, name: string, path: string) => fake.asGuestRoot(name, (fs) => fs.existsSync(path));

/** A forkable golden; `ready` makes its workload reach the forkpoint (what smolvm-fork-ready writes). */
async function golden(ready: boolean): Promise<FakeSmolvm> {
  const fake = createFakeSmolvm({ generateShortId: () => '0badf00d', clock: () => 1_700_000_000_000 });
  await sm(fake, 'machine', 'create', '-n', 'g', '-e', 'BASE=1');
  await sm(fake, 'machine', 'start', '-n', 'g', '--forkable');
  if (ready) expect((await sh(fake, 'g', 'printf "smolvm-forkpoint-v1\\n" > /run/smolvm/forkpoint/ready')).exitCode).toBe(0);
  return fake;
}

describe('the forkpoint wait (fork.rs wait_for_forkpoint; machine.rs forkpoint_timeout)', () => {
  it('a bare golden with no workload never reaches it: the batch times out and nothing changes', async () => {
    const fake = await golden(false);
    const started = Date.now();
    const r = await sm(fake, 'machine', 'fork', '--golden', 'g', '--count', '2', '--name-prefix', 'w', '--ready-timeout', '150ms');
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(r).toMatchObject({
      exitCode: 1,
      stdout: '',
      stderr:
        "Waiting for golden 'g' to reach its forkpoint...\n" +
        "Error: agent operation failed: wait for forkpoint: golden 'g' did not become ready within 0.15s (exit 124): \n",
    });
    expect(fake.machineNames()).toEqual(['g']);
    expect(fake.machine('g')?.state).toBe('running');
  });

  it('--wait-ready and --hold make a single fork wait too', async () => {
    for (const flag of ['--wait-ready', '--hold']) {
      const fake = await golden(false);
      const r = await sm(fake, 'machine', 'fork', '--golden', 'g', '-n', 'c', flag, '--ready-timeout', '50ms');
      expect(r.stderr).toContain('did not become ready within 0.05s (exit 124)');
    }
  });

  it('refuses, as not modelled, waiting on a golden that is not running', async () => {
    const fake = createFakeSmolvm();
    await sm(fake, 'machine', 'create', '-n', 'g');
    const r = await sm(fake, 'machine', 'fork', '--golden', 'g', '--count', '2', '--name-prefix', 'w');
    expect(r).toMatchObject({
      exitCode: 1,
      stderr:
        "Waiting for golden 'g' to reach its forkpoint...\n" +
        "Error: config operation failed: fake smolvm: 'machine fork waiting on a golden that is not running' is not modelled by the fake\n",
    });
  });
});

describe('a batch (vm_common.rs fork_vm_batch; machine.rs render_indexed_fork_env, fork_batch_id)', () => {
  it('forks COUNT clones from one snapshot, each with its identity, then releases them', async () => {
    const fake = await golden(true);
    const r = await sm(fake, 'machine', 'fork', '--golden', 'g', '--count', '3', '--name-prefix', 'w', '-e', 'SEED={index}', '-e', 'SMOLVM_FORK_INDEX=9');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe("Machine 'w-0' running (PID: 41001)\nMachine 'w-1' running (PID: 41002)\nMachine 'w-2' running (PID: 41003)\n");
    expect(r.stderr).toBe(
      "Waiting for golden 'g' to reach its forkpoint...\n" +
        "Freezing golden 'g' once for 3 clones...\n" +
        ['w-0', 'w-1', 'w-2'].map((c) => `Booting clone '${c}' from snapshot...\nStarting machine '${c}'...\n`).join('') +
        "Forked 3 clones from 'g' with one snapshot.\n",
    );
    const env = (name: string) => fake.machine(name)?.env ?? {};
    const batchId = env('w-0').SMOLVM_FORK_BATCH_ID;
    expect(batchId).toMatch(/^[0-9a-f]{32}$/);
    // Identity keys given with -e are replaced by the real ones.
    expect(env('w-2')).toEqual({
      BASE: '1',
      SEED: '2',
      SMOLVM_FORK_INDEX: '2',
      SMOLVM_FORK_NAME: 'w-2',
      SMOLVM_FORK_BATCH_ID: batchId,
      SMOLVM_FORK_BATCH_SIZE: '3',
    });
    expect(read(fake, 'w-1', '/etc/smolvm/fork-env')).toBe(
      `SEED=1\nSMOLVM_FORK_INDEX=1\nSMOLVM_FORK_NAME=w-1\nSMOLVM_FORK_BATCH_ID=${batchId}\nSMOLVM_FORK_BATCH_SIZE=3\n`,
    );
    // Each clone inherits the golden's ready marker and gets its own release marker.
    expect((await sh(fake, 'w-1', 'ls /run/smolvm/forkpoint; stat -c %a /run/smolvm/forkpoint/release')).stdout).toBe('ready\nrelease\nrestored\n600\n');
    expect(exists(fake, 'g', '/run/smolvm/forkpoint/release')).toBe(false);
    expect(fake.machine('g')?.state).toBe('frozen');
  });

  it('refuses the whole batch when one clone name is taken, creating none', async () => {
    const fake = await golden(true);
    await sm(fake, 'machine', 'create', '-n', 'w-1');
    const r = await sm(fake, 'machine', 'fork', '--golden', 'g', '--count', '2', '--name-prefix', 'w');
    expect(r.stderr).toBe(
      "Waiting for golden 'g' to reach its forkpoint...\nFreezing golden 'g' once for 2 clones...\n" +
        "Error: agent operation failed: fork: machine 'w-1' already exists\n",
    );
    expect(fake.machineNames()).toEqual(['g', 'w-1']);
    expect(fake.machine('g')?.state).toBe('running');
  });
});

describe('held slots and fork-release (vm_common.rs release_held_fork; fork.rs activate_held_fork)', () => {
  it('provisions parked slots: identity but no batch id, no release marker, "Fork slot: held"', async () => {
    const fake = await golden(true);
    const r = await sm(fake, 'machine', 'fork', '--golden', 'g', '--count', '2', '--name-prefix', 'h', '--hold', '-e', 'MODE=train');
    expect(r.stderr.endsWith("Provisioned 2 held slots from 'g' with one snapshot.\n")).toBe(true);
    expect(fake.machine('h-1')).toMatchObject({ forkpointHeld: true, env: { BASE: '1', MODE: 'train', SMOLVM_FORK_INDEX: '1', SMOLVM_FORK_NAME: 'h-1' } });
    expect(exists(fake, 'h-1', '/run/smolvm/forkpoint/release')).toBe(false);
    expect(JSON.parse((await sm(fake, 'machine', 'status', '-n', 'h-1', '--json')).stdout).forkpoint_held).toBe(true);
    expect((await sm(fake, 'machine', 'ls', '-v')).stdout).toContain(
      'h-1                  running          4   8192 MiB       0       0   20 GiB   10 GiB\n  PID: 41002\n  Fork slot: held\n',
    );
    const single = await sm(fake, 'machine', 'fork', '--golden', 'g', '-n', 'one', '--hold');
    expect(single.stderr.endsWith("Forked 'g' -> held slot 'one'. Release it with `smolvm machine fork-release --name one`.\n")).toBe(true);
  });

  it('releases a slot once: merged fork env, record env, release marker; a second release is refused', async () => {
    const fake = await golden(true);
    await sm(fake, 'machine', 'fork', '--golden', 'g', '--count', '2', '--name-prefix', 'h', '--hold', '-e', 'MODE=train');
    const r = await sm(fake, 'machine', 'fork-release', '-n', 'h-0', '-e', 'MODE=eval', '-e', 'JOB=7');
    expect(r).toMatchObject({ exitCode: 0, stdout: '', stderr: "Released held slot 'h-0'. Replace it from 'g' after the workload completes.\n" });
    expect(read(fake, 'h-0', '/etc/smolvm/fork-env')).toBe('SMOLVM_FORK_INDEX=0\nSMOLVM_FORK_NAME=h-0\nMODE=eval\nJOB=7\n');
    expect(read(fake, 'h-0', '/run/smolvm/forkpoint/release')).toBe('smolvm-forkpoint-release-v1\n');
    expect(fake.machine('h-0')).toMatchObject({ forkpointHeld: false, env: { MODE: 'eval', JOB: '7' } });
    expect((await sm(fake, 'machine', 'fork-release', '-n', 'h-0')).stderr).toBe(
      "Error: agent operation failed: release held fork: clone 'h-0' is not a held pool slot\n",
    );
    expect(exists(fake, 'h-1', '/run/smolvm/forkpoint/release')).toBe(false);
  });

  it('refuses a missing machine, a non-clone, a bad key, and a slot no longer parked', async () => {
    const fake = await golden(true);
    await sm(fake, 'machine', 'fork', '--golden', 'g', '-n', 'h', '--hold');
    const release = (...a: string[]) => sm(fake, 'machine', 'fork-release', ...a);
    expect((await release('-n', 'nope')).stderr).toBe('Error: vm not found: nope\n');
    expect((await release('-n', 'g')).stderr).toBe("Error: agent operation failed: release held fork: machine 'g' is not a fork clone\n");
    expect((await release('-n', 'h', '-e', 'A-B=1')).stderr).toBe(
      "Error: config operation failed: fork env: invalid key 'A-B': must match [A-Za-z_][A-Za-z0-9_]*\n",
    );
    // Exit 43 of the activation script: the slot was claimed before the guest step, and stays so.
    await sh(fake, 'h', 'rm /run/smolvm/forkpoint/ready');
    expect((await release('-n', 'h')).stderr).toBe(
      "Error: agent operation failed: release held fork: slot 'h' was claimed and will not be reused after activation failed: " +
        "agent operation failed: activate held fork: clone 'h' is not parked at a forkpoint\n",
    );
    expect(fake.machine('h')?.forkpointHeld).toBe(false);
    expect((await release('-n', 'h')).stderr).toContain("clone 'h' is not a held pool slot");
  });
});
