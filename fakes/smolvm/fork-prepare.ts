/**
 * The mechanics of a fork, after `src/agent/fork.rs` (`prepare_forks_reusing`,
 * `prepare_clone_from_snapshot`, `wait_for_forkpoint`) and `src/cli/vm_common.rs`
 * (`boot_prepared_fork`, `rollback_failed_fork`), v1.9.2.
 *
 * The golden's VMM state (forkable, paused, retained checkpoint) lives in `record.vmm`; a clone is
 * a new record copied from the golden's plus an independent copy of its filesystem, which is what
 * copy-on-write disks and restored RAM (tmpfs included) amount to for the guest.
 */
import { rejuvenate, sshHostKeys, WAIT_SCRIPT, writeForkEnv } from './fork-guest.ts';
import { dependentClones, vmmAlive } from './fork-state.ts';
import * as ft from './fork-texts.ts';
import { Sink } from './guest/process.ts';
import { BARE_ENV, startMachine } from './lifecycle.ts';
import { CommandFailure, containerHostname, type Io, type Machine, type SmolvmModel } from './model.ts';
import { envMap, nameProblem, type MachineRecord } from './records.ts';
import * as t from './texts.ts';

export type Env = ReadonlyArray<readonly [string, string]>;
export type Port = { readonly host: number; readonly guest: number };

/** `ForkSpec`: one clone to prepare from the shared snapshot. */
export interface CloneSpec {
  readonly clone: string;
  readonly pinned: readonly Port[];
  readonly cloneForkable: boolean;
  readonly forkEnv: Env;
  readonly hold: boolean;
}

export interface PreparedClone {
  readonly machine: Machine;
  readonly forkEnv: Env;
  /** `(golden_host, guest, clone_host)`; with pinned ports golden_host is the clone's. */
  readonly remaps: ReadonlyArray<readonly [number, number, number]>;
}

export interface PreparedBatch {
  readonly clones: readonly PreparedClone[];
  /** False when the golden was already paused: resuming it would break existing clones. */
  readonly resumeGolden: boolean;
}

/** Inherited forwards get fresh host ports; the kernel picks them in smolvm, the fake counts up. */
const FIRST_FREE_PORT = 49152;

/** `validate_fork_env`: keys are identifiers (they become env names), values are one line. */
export function validateForkEnv(env: Env): void {
  for (const [k, v] of env) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new CommandFailure(ft.badForkEnvKey(k));
    if (v.includes('\n') || v.includes('\r')) throw new CommandFailure(ft.forkEnvNewline(k));
  }
}

/**
 * `wait_for_forkpoint`: a golden already paused reuses its proven forkpoint; a live one runs the
 * marker loop under the timeout. Waiting on a golden that is not running is refused: smolvm
 * retries the dead agent socket for seconds, with tracing warnings, and its errno depends on
 * whether a stale socket file is left, which the source does not settle.
 */
export async function waitForForkpoint(model: SmolvmModel, io: Io, golden: string, timeoutMs: number): Promise<void> {
  const g = model.machines.get(golden);
  if (g && vmmAlive(g.record) && g.record.vmm?.paused) return;
  if (g?.record.state !== 'running' || g.record.pid === null) {
    throw new CommandFailure(t.notModelled('machine fork waiting on a golden that is not running'));
  }
  const stdout = new Sink();
  const stderr = new Sink();
  const outcome = await model.runGuest(g, {
    argv: ['/bin/sh', '-c', WAIT_SCRIPT],
    env: envMap(BARE_ENV),
    cwd: '/',
    stdin: new Uint8Array(),
    stdout,
    stderr,
    timeoutMs,
    signal: io.signal,
  });
  if (outcome.kind === 'exited' && outcome.code === 0) return;
  // The agent kills a timed-out command and answers 124, as for `machine exec --timeout`.
  const code = outcome.kind === 'exited' ? outcome.code : outcome.kind === 'timed-out' ? 124 : 127;
  throw new CommandFailure(ft.forkpointTimedOut(golden, timeoutMs / 1000, code, stderr.text().trim()));
}

/** `prepare_forks_reusing`: check every clone, freeze the golden once, register the clones. */
export function prepareForks(model: SmolvmModel, golden: string, specs: readonly CloneSpec[]): PreparedBatch {
  const names = new Set<string>();
  const reserved = new Set<number>();
  for (const spec of specs) {
    const problem = nameProblem(spec.clone, 'clone name');
    if (problem) throw new CommandFailure(ft.cloneName(problem));
    validateForkEnv(spec.forkEnv);
    if (names.has(spec.clone)) throw new CommandFailure(ft.duplicateClone(spec.clone));
    names.add(spec.clone);
    if (spec.cloneForkable) throw new CommandFailure(ft.nestedFork);
    if (model.machines.has(spec.clone)) throw new CommandFailure(ft.cloneExists(spec.clone));
    for (const { host } of spec.pinned) {
      if (reserved.has(host)) throw new CommandFailure(ft.pinnedPortTwice(host));
      reserved.add(host);
    }
  }
  const g = model.machines.get(golden);
  if (!g) throw new CommandFailure(t.vmNotFound(golden));
  const gr = g.record;
  // The control socket: absent before a first boot, refusing connections once the VMM is gone.
  if (!gr.everStarted) throw new CommandFailure(ft.notRunningForkable(golden));
  if (!vmmAlive(gr)) throw new CommandFailure(ft.controlNotResponding(golden));
  const wasPaused = gr.vmm?.paused === true; // control STATUS answers "OK paused"
  if (wasPaused && !gr.vmm?.retainedCheckpoint) throw new CommandFailure(ft.pausedWithoutCheckpoint(golden));
  const keys = sshHostKeys(g.fs);
  if (keys.length) {
    // The identity reset rotates them with the guest's ssh-keygen, a program the fake lacks.
    throw new CommandFailure(t.notModelled(`machine fork of a golden with SSH host keys (/etc/ssh/${keys[0]})`));
  }
  if (!wasPaused) {
    // `FORK <dir>`: libkrun freezes the golden as the CoW base, or refuses without memfd RAM.
    if (!gr.vmm?.forkable) throw rollbackNewSnapshot(model, golden, ft.forkFailed(ft.NO_MEMFD_REPLY));
    gr.vmm.paused = true;
    gr.vmm.retainedCheckpoint = true;
  }
  const clones = specs.map((spec) => prepareClone(model, g, spec, reserved));
  return { clones, resumeGolden: !wasPaused };
}

/**
 * `rollback_new_snapshot` after a refused `FORK`: the golden is resumed unless clones depend on
 * it. The reply to that `RESUME` (libkrun's) is taken to be `OK` (UNCONFIRMED).
 */
function rollbackNewSnapshot(model: SmolvmModel, golden: string, error: string): CommandFailure {
  const clones = dependentClones(model, golden);
  return new CommandFailure(clones.length ? ft.rollbackRefused(error, golden, clones) : error);
}

/** `prepare_clone_from_snapshot`: the golden's record under a new name, ports remapped. */
function prepareClone(model: SmolvmModel, g: Machine, spec: CloneSpec, reserved: Set<number>): PreparedClone {
  const gr = g.record;
  const remaps: Array<readonly [number, number, number]> = [];
  let ports: readonly Port[];
  if (spec.pinned.length) {
    ports = spec.pinned;
    for (const p of ports) remaps.push([p.host, p.guest, p.host]);
  } else {
    ports = gr.ports.map((p) => {
      const host = freePort(model, reserved);
      remaps.push([p.host, p.guest, host]);
      return { host, guest: p.guest };
    });
  }
  const env = spec.forkEnv.length ? [...gr.env.filter(([k]) => !spec.forkEnv.some(([fk]) => fk === k)), ...spec.forkEnv] : gr.env;
  const { vmm: _vmm, golden: _golden, forkpointHeld: _held, forkEnv: _forkEnv, ...inherited } = structuredClone(gr);
  const record: MachineRecord = {
    ...inherited,
    name: spec.clone,
    pid: null,
    env,
    ports,
    golden: gr.name,
    ...(spec.hold ? { forkpointHeld: true } : {}),
    ...(spec.forkEnv.length ? { forkEnv: spec.forkEnv } : {}),
  };
  const machine: Machine = { record, fs: g.fs.copy() };
  model.machines.set(spec.clone, machine);
  return { machine, forkEnv: spec.forkEnv, remaps };
}

function freePort(model: SmolvmModel, reserved: Set<number>): number {
  const used = new Set([...model.machines.values()].flatMap((m) => m.record.ports.map((p) => p.host)));
  let port = FIRST_FREE_PORT;
  while (used.has(port) || reserved.has(port)) port++;
  reserved.add(port);
  return port;
}

/**
 * `boot_prepared_fork`: the clone starts from the snapshot (RAM kept, workload not re-run),
 * then gets its own identity and its fork env. A failed boot tears the clone down.
 */
export async function bootPrepared(model: SmolvmModel, io: Io, prep: PreparedClone, retry = false): Promise<void> {
  const { machine } = prep;
  const name = machine.record.name;
  io.stderr.write(ft.bootingClone(name));
  const boot = () => startMachine(model, machine, io, { forkable: false, fromSnapshot: true });
  try {
    if (!retry) await boot();
    else await retryOnce(name, boot, io);
  } catch (error) {
    model.machines.delete(name);
    throw error;
  }
  // The image clone's container keeps the golden's UTS namespace; a bare VM's kernel takes the name.
  const hostname = machine.record.imageSource === null ? name : containerHostname(prep.machine.record.golden ?? name);
  machine.record.vmm = { forkable: false, paused: false, retainedCheckpoint: false, hostname };
  rejuvenate(machine.fs, name);
  writeForkEnv(machine.fs, prep.forkEnv);
}

/** `retry_once_serialized` (batch boots): one retry after a failure, then both errors. */
async function retryOnce(name: string, boot: () => Promise<void>, io: Io): Promise<void> {
  try {
    await boot();
  } catch (first) {
    if (!(first instanceof CommandFailure)) throw first;
    io.stderr.write(ft.bootRetry(name, first.display));
    await new Promise((r) => setTimeout(r, 100));
    try {
      await boot();
    } catch (second) {
      if (!(second instanceof CommandFailure)) throw second;
      throw new CommandFailure(ft.bootFailedTwice(name, first.display, second.display));
    }
  }
}

/**
 * `rollback_failed_fork`: a golden frozen by this fork is resumed (`ROLLBACK_FORK`, its reply
 * taken to be `OK`, UNCONFIRMED); either way the snapshot directory is removed, so no retained
 * checkpoint survives, and a golden that stays paused can no longer be forked.
 */
export function rollbackFailedFork(model: SmolvmModel, golden: string, resumeGolden: boolean): void {
  const vmm = model.machines.get(golden)?.record.vmm;
  if (!vmm) return;
  if (resumeGolden) vmm.paused = false;
  vmm.retainedCheckpoint = false;
}
