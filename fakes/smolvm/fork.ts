/**
 * `machine fork` and `machine fork-release` (`src/cli/machine.rs` `ForkCmd::run`,
 * `ForkReleaseCmd::run`; `src/cli/vm_common.rs` `fork_vm`, `fork_vm_batch`, `release_held_fork`),
 * v1.9.2, in the order they check and print.
 */
import { createHash } from 'node:crypto';
import type { ParsedArgs } from './clap.ts';
import { activateHeld, releaseForkpoint } from './fork-guest.ts';
import { bootPrepared, prepareForks, rollbackFailedFork, validateForkEnv, waitForForkpoint, type CloneSpec, type Env, type Port } from './fork-prepare.ts';
import { agentAnswers } from './fork-state.ts';
import * as ft from './fork-texts.ts';
import { refuseUnmodelled } from './lifecycle.ts';
import { CommandFailure, type Io, type SmolvmModel } from './model.ts';
import { parseEnvSpec } from './records.ts';
import * as t from './texts.ts';

const MAX_BATCH = 1024;
const DEFAULT_READY_TIMEOUT_MS = 10 * 60 * 1000;
const IDENTITY_KEYS = ['SMOLVM_FORK_INDEX', 'SMOLVM_FORK_NAME', 'SMOLVM_FORK_BATCH_ID', 'SMOLVM_FORK_BATCH_SIZE'];

export async function fork(model: SmolvmModel, args: ParsedArgs, io: Io): Promise<number> {
  refuseUnmodelled(args, 'fork');
  const golden = args.one('golden') as string;
  const count = Number(args.one('count') ?? 1);
  const hold = args.has('hold');
  const forkable = args.has('forkable');
  // `forkpoint_timeout`: batches and held slots always wait; one clone only with --wait-ready.
  const waitMs = count > 1 || args.has('wait-ready') || hold ? Number(args.one('ready-timeout') ?? DEFAULT_READY_TIMEOUT_MS) : undefined;
  if (count > MAX_BATCH) throw new CommandFailure(ft.countTooLarge);
  if (hold && forkable) throw new CommandFailure(ft.holdWithForkable);
  const pinned: Port[] = args.all('port').map((p) => {
    const [host, guest] = p.split(':').map(Number) as [number, number];
    return { host, guest };
  });
  const specs = args.all('env');
  const explicit = args.one('name');
  const prefix = args.one('name-prefix');

  if (count === 1) {
    if (explicit !== undefined && prefix !== undefined) throw new CommandFailure(ft.nameAndPrefix);
    const clone = explicit ?? (prefix !== undefined ? `${prefix}-0` : undefined);
    if (clone === undefined) throw new CommandFailure(ft.nameRequired);
    const forkEnv = indexedForkEnv(specs, io.env, 0, clone, false, undefined);
    await forkOne(model, io, golden, { clone, pinned, cloneForkable: forkable, forkEnv, hold }, waitMs);
    return 0;
  }

  if (explicit !== undefined) throw new CommandFailure(ft.nameWithBatch);
  if (prefix === undefined) throw new CommandFailure(ft.prefixRequired);
  if (forkable) throw new CommandFailure(ft.forkableBatch);
  if (pinned.length) throw new CommandFailure(ft.portsWithBatch);
  // Held slots stay independent until assigned: no shared batch identity for them.
  const batch = hold ? undefined : { id: forkBatchId(golden, prefix, model.clock()), size: count };
  const clones: CloneSpec[] = [];
  for (let index = 0; index < count; index++) {
    const clone = `${prefix}-${index}`;
    clones.push({ clone, pinned: [], cloneForkable: false, forkEnv: indexedForkEnv(specs, io.env, index, clone, true, batch), hold });
  }
  await forkBatch(model, io, golden, clones, waitMs ?? DEFAULT_READY_TIMEOUT_MS, hold);
  return 0;
}

/** `fork_vm`. */
async function forkOne(model: SmolvmModel, io: Io, golden: string, spec: CloneSpec, waitMs: number | undefined): Promise<void> {
  if (waitMs !== undefined) {
    io.stderr.write(ft.waitingForForkpoint(golden));
    await waitForForkpoint(model, io, golden, waitMs);
  }
  io.stderr.write(ft.freezing(golden));
  const batch = prepareForks(model, golden, [spec]);
  const prep = batch.clones[0];
  if (!prep) return;
  for (const [goldenHost, guest, cloneHost] of prep.remaps) {
    io.stderr.write(spec.pinned.length ? ft.portPinned(cloneHost, guest) : ft.portRemapped(goldenHost, guest, cloneHost));
  }
  try {
    await bootPrepared(model, io, prep);
  } catch (error) {
    rollbackFailedFork(model, golden, batch.resumeGolden);
    throw error;
  }
  if (waitMs !== undefined && !spec.hold) releaseForkpoint(prep.machine.fs);
  io.stderr.write(spec.hold ? ft.forkedHeld(golden, spec.clone) : ft.forked(golden, spec.clone));
}

/** `fork_vm_batch`: one snapshot, clones booted in order (smolvm boots `--parallel` at once). */
async function forkBatch(model: SmolvmModel, io: Io, golden: string, specs: readonly CloneSpec[], waitMs: number, hold: boolean): Promise<void> {
  io.stderr.write(ft.waitingForForkpoint(golden));
  await waitForForkpoint(model, io, golden, waitMs);
  io.stderr.write(ft.freezingOnce(golden, specs.length));
  const batch = prepareForks(model, golden, specs);
  let firstError: string | undefined;
  for (const prep of batch.clones) {
    try {
      await bootPrepared(model, io, prep, true);
    } catch (error) {
      if (!(error instanceof CommandFailure)) throw error;
      // A failure stops the workers from taking further clones.
      firstError = ft.batchCloneFailed(prep.machine.record.name, error.display);
      break;
    }
  }
  if (firstError !== undefined) {
    for (const spec of specs) model.machines.delete(spec.clone);
    rollbackFailedFork(model, golden, batch.resumeGolden);
    throw new CommandFailure(firstError);
  }
  // Clones wait at the forkpoint until every one has its identity and env, then all go.
  if (!hold) for (const prep of batch.clones) releaseForkpoint(prep.machine.fs);
  io.stderr.write(hold ? ft.provisionedHeld(golden, specs.length) : ft.forkedBatch(golden, specs.length));
}

/**
 * `render_indexed_fork_env`: `-e` values with `{index}`/`{name}` filled in; a batch or held slot
 * also gets its identity (and a direct batch its shared batch id and size), replacing any given.
 */
function indexedForkEnv(
  specs: readonly string[],
  hostEnv: Readonly<Record<string, string>>,
  index: number,
  name: string,
  identity: boolean,
  batch: { id: string; size: number } | undefined,
): Env {
  let env: Array<readonly [string, string]> = parseEnvList(specs, hostEnv).map(([k, v]) => [
    k,
    v.replaceAll('{index}', String(index)).replaceAll('{name}', name),
  ]);
  if (identity) {
    env = env.filter(([k]) => !IDENTITY_KEYS.includes(k));
    env.push(['SMOLVM_FORK_INDEX', String(index)], ['SMOLVM_FORK_NAME', name]);
    if (batch) env.push(['SMOLVM_FORK_BATCH_ID', batch.id], ['SMOLVM_FORK_BATCH_SIZE', String(batch.size)]);
  }
  return env;
}

/** `fork_batch_id`: sha256(golden, 0, prefix, 0, pid, created-ns), first 32 hex digits. */
function forkBatchId(golden: string, prefix: string, nowMs: number): string {
  const pid = Buffer.alloc(4);
  pid.writeUInt32LE(process.pid);
  const nanos = Buffer.alloc(16);
  const ns = BigInt(nowMs) * 1_000_000n;
  nanos.writeBigUInt64LE(ns & 0xffff_ffff_ffff_ffffn);
  nanos.writeBigUInt64LE(ns >> 64n, 8);
  return createHash('sha256')
    .update(golden)
    .update(Buffer.from([0]))
    .update(prefix)
    .update(Buffer.from([0]))
    .update(pid)
    .update(nanos)
    .digest('hex')
    .slice(0, 32);
}

/** `util::parse_env_list`: specs that do not parse (or name an unset host variable) are dropped. */
function parseEnvList(specs: readonly string[], hostEnv: Readonly<Record<string, string>>): Array<[string, string]> {
  return specs.flatMap((spec) => {
    const pair = parseEnvSpec(spec, hostEnv);
    return pair ? [pair] : [];
  });
}

/** `release_held_fork` + `activate_held_fork`: assign parameters to a held slot, once. */
export async function forkRelease(model: SmolvmModel, args: ParsedArgs, io: Io): Promise<number> {
  const name = args.one('name') as string;
  const assignment = parseEnvList(args.all('env'), io.env);
  const machine = model.machines.get(name);
  if (!machine) throw new CommandFailure(t.vmNotFound(name));
  const r = machine.record;
  if (r.golden === undefined) throw new CommandFailure(ft.notAClone(name));
  if (!r.forkpointHeld) throw new CommandFailure(ft.notHeld(name));
  validateForkEnv(assignment);
  if (!agentAnswers(r)) {
    // smolvm would retry the dead agent socket after claiming the slot; see waitForForkpoint.
    throw new CommandFailure(t.notModelled('machine fork-release of a held slot that is not running'));
  }
  // `merge_fork_env` + `record_fork_activation`: the claim is persisted before the guest step.
  let merged: Env = r.forkEnv ?? [];
  for (const [key, value] of assignment) merged = [...merged.filter(([k]) => k !== key), [key, value]];
  const keys = new Set(assignment.map(([k]) => k));
  r.forkpointHeld = false;
  r.forkEnv = merged;
  r.env = [...r.env.filter(([k]) => !keys.has(k)), ...assignment];
  const token = `${model.generateShortId()}${model.generateShortId()}`;
  const code = activateHeld(machine.fs, merged, token);
  if (code === 42) throw new CommandFailure(ft.activationFailed(name, ft.alreadyReleased(name)));
  if (code === 43) throw new CommandFailure(ft.activationFailed(name, ft.notParked(name)));
  io.stderr.write(ft.released(name, r.golden));
  return 0;
}
