// A fork base after `machine fork`, as smolvm 1.9.2 treats it: src/cli/vm_common.rs
// (`start_vm_named_with_db`, `stop_vm_named`, `delete_vm`, `status_vm`,
// `ensure_running_and_connect`, `cli_recover_if_unreachable`), src/agent/state_probe.rs
// (`resolve_state`), src/cli/machine.rs (`DeleteCmd --cascade`, `StartCmd --fork-pool-size`).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFakeSmolvm, openPersistentFakeSmolvm, type FakeSmolvm, type FakeSmolvmState } from '../index.ts';

const sm = (fake: FakeSmolvm, ...args: string[]) => fake.run(['smolvm', ...args]);
const sh = (fake: FakeSmolvm, name: string, script: string) => sm(fake, 'machine', 'exec', '--name', name, '--', 'sh', '-c', script);

/** Golden `g` frozen under clones `c1`, `c2` (forked in that order). */
async function frozen(fake = createFakeSmolvm({ clock: () => 1_700_000_000_000 })): Promise<FakeSmolvm> {
  await sm(fake, 'machine', 'create', '-n', 'g');
  await sm(fake, 'machine', 'start', '-n', 'g', '--forkable');
  await sh(fake, 'g', 'echo base > /root/state');
  for (const clone of ['c1', 'c2']) expect((await sm(fake, 'machine', 'fork', '--golden', 'g', '-n', clone)).exitCode).toBe(0);
  return fake;
}

describe('start and stop of a fork base (vm_common.rs start_vm_named_with_db, stop_vm_named)', () => {
  it('refuses to start it again while clones exist', async () => {
    const fake = await frozen();
    expect(await sm(fake, 'machine', 'start', '-n', 'g', '--forkable')).toMatchObject({
      exitCode: 1,
      stdout: '',
      stderr:
        "Error: agent operation failed: start: 'g' is frozen because it is the fork base for 2 live clone(s) (c1, c2); " +
        'their disks are copy-on-write overlays backed by its disks, so it cannot be re-launched while they exist — delete the clones first\n',
    });
  });

  it('refuses to stop it while clones exist, stopped ones included', async () => {
    const fake = await frozen();
    await sm(fake, 'machine', 'stop', '-n', 'c1');
    expect(await sm(fake, 'machine', 'stop', '-n', 'g')).toMatchObject({
      exitCode: 1,
      stderr: "Error: agent operation failed: stop: machine 'g' is the fork base for 2 live clone(s) (c1, c2); stop or delete the clones first\n",
    });
  });

  it('stays frozen on its retained checkpoint once the clones are gone, until stopped', async () => {
    const fake = await frozen();
    await sm(fake, 'machine', 'delete', '-n', 'c1', '-f');
    await sm(fake, 'machine', 'delete', '-n', 'c2', '-f');
    expect(fake.machine('g')?.state).toBe('frozen');
    expect((await sm(fake, 'machine', 'start', '-n', 'g')).stderr).toBe(
      "Error: agent operation failed: start: 'g' is frozen because it retains a reusable fork checkpoint; stop it before restarting, or fork it again\n",
    );
    expect((await sm(fake, 'machine', 'stop', '-n', 'g')).stdout).toBe("Stopping machine 'g'...\nStopped machine: g\n");
    // A cold start is an ordinary, non-forkable boot of its own disk.
    expect((await sm(fake, 'machine', 'start', '-n', 'g')).exitCode).toBe(0);
    expect((await sh(fake, 'g', 'cat /root/state')).stdout).toBe('base\n');
    expect((await sm(fake, 'machine', 'fork', '--golden', 'g', '-n', 'c3')).stderr).toContain('no memfd-backed RAM');
  });

  it('refuses --fork-pool-size: the fake has no CUDA machine', async () => {
    const fake = createFakeSmolvm();
    await sm(fake, 'machine', 'create', '-n', 'm');
    expect((await sm(fake, 'machine', 'start', '-n', 'm', '--fork-pool-size', '4')).stderr).toBe(
      'Error: config operation failed: fork pool: --fork-pool-size requires a CUDA-enabled machine\n',
    );
    expect(fake.machine('m')?.state).toBe('created');
    expect((await sm(fake, 'machine', 'start', '-n', 'm', '--fork-pool-size', '0')).exitCode).toBe(2);
  });
});

describe('exec into a frozen golden (vm_common.rs ensure_running_and_connect, mark_unreachable_if_zombie)', () => {
  it('fails as "not running" and leaves the record unreachable, as smolvm persists it', async () => {
    const fake = await frozen();
    expect(await sh(fake, 'g', 'true')).toMatchObject({
      exitCode: 1,
      stderr: "Error: agent operation failed: connect: machine 'g' is not running. Use 'smolvm machine start --name g' first.\n",
    });
    expect((await sm(fake, 'machine', 'status', '-n', 'g')).stdout).toBe("Machine 'g': unreachable\n");
    expect((await sm(fake, 'machine', 'ls')).stdout).toMatch(/^g +unreachable /m);
    // Its VMM is still the paused fork base: forking from it goes on working.
    expect((await sm(fake, 'machine', 'fork', '--golden', 'g', '-n', 'c3')).exitCode).toBe(0);
    // stop has no fork-base guard on this path: the VMM is reaped (cli_recover_if_unreachable).
    expect((await sm(fake, 'machine', 'stop', '-n', 'g')).stdout).toBe(
      "Machine 'g' is unreachable (PID 41000 alive but agent unresponsive); cleaning up.\nStopped machine: g\n",
    );
    expect((await sh(fake, 'c1', 'cat /root/state')).stdout).toBe('base\n');
  });
});

describe('delete of a fork base (vm_common.rs delete_vm; machine.rs DeleteCmd)', () => {
  it('refuses without --cascade or --force, even when stdin would answer the prompt', async () => {
    const fake = await frozen();
    const r = await fake.run(['smolvm', 'machine', 'delete', '-n', 'g'], { stdin: 'y\n' });
    expect(r).toMatchObject({
      exitCode: 1,
      stdout: '',
      stderr:
        "Error: agent operation failed: delete: machine 'g' is the fork base for 2 clone(s) (c1, c2); " +
        'delete the clones first, use --cascade to remove them too, or --force to break them\n',
    });
    expect(fake.machineNames()).toEqual(['c1', 'c2', 'g']);
  });

  it('--cascade deletes the clones first, then the base, without a prompt', async () => {
    const fake = await frozen();
    const r = await sm(fake, 'machine', 'delete', '-n', 'g', '--cascade');
    expect(r).toMatchObject({
      exitCode: 0,
      stderr: '',
      stdout:
        "Deleting dependent clone 'c1' (cascade)...\nStopping machine 'c1'...\nCleaning up data directory for vm: c1\nDeleted machine: c1\n" +
        "Deleting dependent clone 'c2' (cascade)...\nStopping machine 'c2'...\nCleaning up data directory for vm: c2\nDeleted machine: c2\n" +
        'Cleaning up data directory for vm: g\nDeleted machine: g\n',
    });
    expect(fake.machineNames()).toEqual([]);
  });

  it('--force breaks the chain: the base goes with a warning, its clones stay and keep working', async () => {
    const fake = await frozen();
    const r = await sm(fake, 'machine', 'delete', '-n', 'g', '-f');
    expect(r.stdout).toBe('Cleaning up data directory for vm: g\nDeleted machine: g\n');
    expect(r.stderr).toBe(`2023-11-14T22:13:20.000000Z  WARN force-deleting a golden; dependent clones' disk overlays will dangle golden="g" clones=c1, c2\n`);
    expect(fake.machineNames()).toEqual(['c1', 'c2']);
    expect((await sh(fake, 'c2', 'cat /root/state')).stdout).toBe('base\n');
    expect(fake.machine('c2')?.golden).toBe('g');
  });

  it('a clone deletes like any machine', async () => {
    const fake = await frozen();
    expect((await sm(fake, 'machine', 'delete', '-n', 'c1', '-f')).stdout).toBe(
      "Stopping machine 'c1'...\nCleaning up data directory for vm: c1\nDeleted machine: c1\n",
    );
    expect(fake.machine('g')?.state).toBe('frozen');
  });
});

describe('persistence: a save and load keeps forks (fakes/bin/smolvm state file, exportState)', () => {
  it('restores clones, their files and the frozen golden; cascade order survives', async () => {
    const fake = await frozen();
    await sh(fake, 'c1', 'echo mine > /root/state');
    const state = JSON.parse(JSON.stringify(fake.exportState())) as FakeSmolvmState;
    const restored = createFakeSmolvm({ state });
    expect(restored.machine('g')?.state).toBe('frozen');
    expect(restored.machine('c1')).toMatchObject({ state: 'running', golden: 'g' });
    expect((await sh(restored, 'c1', 'cat /root/state; hostname')).stdout).toBe('mine\nc1\n');
    expect((await sh(restored, 'c2', 'cat /root/state')).stdout).toBe('base\n');
    // The retained checkpoint survives too: forking again needs no new FORK.
    expect((await sm(restored, 'machine', 'fork', '--golden', 'g', '-n', 'a3')).exitCode).toBe(0);
    // Clones are listed in registry (creation) order, not name order, before and after a load.
    expect((await sm(restored, 'machine', 'stop', '-n', 'g')).stderr).toContain('(c1, c2, a3)');
    const again = createFakeSmolvm({ state: JSON.parse(JSON.stringify(restored.exportState())) as FakeSmolvmState });
    expect((await sm(again, 'machine', 'delete', '-n', 'g', '--cascade')).stdout).toMatch(/'c1'[\s\S]*'c2'[\s\S]*'a3'/);
  });

  it('through openPersistentFakeSmolvm, as the fake CLI saves and loads its state dir', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fake-smolvm-fork-'));
    try {
      const first = await openPersistentFakeSmolvm(dir);
      await frozen(first.fake);
      await first.close();
      const second = await openPersistentFakeSmolvm(dir);
      expect(second.fake.machine('g')?.state).toBe('frozen');
      expect((await sh(second.fake, 'c2', 'cat /root/state')).stdout).toBe('base\n');
      await second.abandon();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reads a state file written before forks existed', async () => {
    const fake = createFakeSmolvm();
    await sm(fake, 'machine', 'create', '-n', 'old');
    await sm(fake, 'machine', 'start', '-n', 'old');
    const state = fake.exportState();
    const record = state.machines[0]?.record;
    expect(record && ['golden', 'forkpointHeld', 'forkEnv', 'vmm'].filter((k) => k in record)).toEqual([]);
    const restored = createFakeSmolvm({ state });
    expect(restored.machine('old')).toMatchObject({ state: 'running', golden: null, forkpointHeld: false });
    expect((await sm(restored, 'machine', 'fork', '--golden', 'old', '-n', 'c')).stderr).toContain('no memfd-backed RAM');
  });
});
