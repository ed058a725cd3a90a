/**
 * What smolvm 1.9.2 prints around forking, copied from its source (tag `v1.9.2`): each text
 * names the function it comes from. `machine.rs` is `src/cli/machine.rs`, `vm_common.rs` is
 * `src/cli/vm_common.rs`, `fork.rs` is `src/agent/fork.rs`. The `Display` wrappers
 * (`config operation failed: …`, `agent operation failed: …`) are `src/data/errors.rs`'s.
 */
import { agentFailed, configFailed } from './texts.ts';

const list = (names: readonly string[]): string => `${names.length} clone(s) (${names.join(', ')})`;
const liveList = (names: readonly string[]): string => `${names.length} live clone(s) (${names.join(', ')})`;

// machine.rs `ForkCmd::run`, in the order it checks.
export const countTooLarge = configFailed('fork', '--count cannot exceed 1024 clones per batch');
export const holdWithForkable = configFailed('fork', '--hold cannot be combined with --forkable; pool slots are disposable leaves');
export const nameAndPrefix = configFailed('fork', 'use either --name or --name-prefix, not both');
export const nameRequired = configFailed('fork', '--name is required for one clone; use --name-prefix with --count for a batch');
export const nameWithBatch = configFailed('fork', '--name cannot be used with --count greater than 1; use --name-prefix');
export const prefixRequired = configFailed('fork', '--name-prefix is required with --count greater than 1');
export const forkableBatch = configFailed('fork', '--forkable is not supported for batch clones');
export const portsWithBatch = configFailed('fork', 'pinned --port mappings are not supported for a batch; inherited ports are remapped automatically');

// fork.rs `prepare_forks_reusing`: per clone, then the golden.
export const cloneName = (reason: string): string => configFailed('clone name', reason);
export const duplicateClone = (clone: string): string => configFailed('fork', `duplicate clone name '${clone}'`);
export const nestedFork = agentFailed('fork', 'nested fork is not supported: a clone cannot be re-forked, so `forkable` on a fork has no effect (drop it)');
export const cloneExists = (clone: string): string => agentFailed('fork', `machine '${clone}' already exists`);
export const pinnedPortTwice = (port: number): string => configFailed('fork', `host port ${port} is assigned to more than one clone`);
const startHint = (golden: string): string => `start it with \`machine start --forkable --name ${golden}\``;
export const notRunningForkable = (golden: string): string => agentFailed('fork', `golden '${golden}' is not running forkable; ${startHint(golden)}`);
// The control socket file outlives a stopped VMM, so connecting is refused (UNCONFIRMED: nothing
// in 1.9.2 removes `control.sock`; the errno text is Linux's).
export const controlNotResponding = (golden: string): string =>
  agentFailed(
    'fork',
    `golden '${golden}' control socket not responding (${agentFailed('connect control socket', 'Connection refused (os error 111)')}); ${startHint(golden)}`,
  );
export const pausedWithoutCheckpoint = (golden: string): string =>
  agentFailed('fork', `golden '${golden}' is already paused; a valid retained checkpoint is required`);
// libkrun's control-socket reply to `FORK` without memfd RAM (`handle_fork`; quoted verbatim in
// 1.9.2's own test `classify_fork_error_maps_precondition_failures_to_conflict`).
export const NO_MEMFD_REPLY = 'ERR EINVAL no memfd-backed RAM (start the golden VM with SMOLVM_FORKABLE=1)';
export const forkFailed = (reply: string): string => agentFailed('fork', `golden FORK failed: ${reply}`);
// fork.rs `rollback_retained_fork_snapshot`, joined by `rollback_new_snapshot`.
export const rollbackRefused = (error: string, golden: string, clones: readonly string[]): string =>
  agentFailed('fork', `${error}; ${agentFailed('fork rollback', `refusing to resume golden '${golden}': ${liveList(clones)} still depend on its checkpoint`)}`);
// fork.rs `validate_fork_env`.
export const badForkEnvKey = (key: string): string => configFailed('fork env', `invalid key '${key}': must match [A-Za-z_][A-Za-z0-9_]*`);
export const forkEnvNewline = (key: string): string => configFailed('fork env', `value for '${key}' must not contain newlines`);
// fork.rs `wait_for_forkpoint`. Rust prints `Duration::as_secs_f64()` with `{}`: 600, 0.5.
export const forkpointTimedOut = (golden: string, secs: number, code: number, stderr: string): string =>
  agentFailed('wait for forkpoint', `golden '${golden}' did not become ready within ${secs}s (exit ${code}): ${stderr}`);

// vm_common.rs `fork_vm`, `fork_vm_batch`, `boot_prepared_fork` (stderr lines).
export const waitingForForkpoint = (golden: string): string => `Waiting for golden '${golden}' to reach its forkpoint...\n`;
export const freezing = (golden: string): string => `Freezing golden '${golden}' as fork base...\n`;
export const freezingOnce = (golden: string, count: number): string => `Freezing golden '${golden}' once for ${count} clones...\n`;
export const portRemapped = (goldenHost: number, guest: number, cloneHost: number): string =>
  `  port ${goldenHost}->${guest} (golden) remapped to ${cloneHost}->${guest} (clone)\n`;
export const portPinned = (host: number, guest: number): string => `  port ${host}->${guest} (pinned)\n`;
export const bootingClone = (clone: string): string => `Booting clone '${clone}' from snapshot...\n`;
export const bootRetry = (clone: string, error: string): string => `Clone '${clone}' boot failed once; retrying serially: ${error}\n`;
export const bootFailedTwice = (clone: string, first: string, retry: string): string =>
  agentFailed('batch fork boot', `clone '${clone}' first attempt failed: ${first}; retry failed: ${retry}`);
export const batchCloneFailed = (clone: string, error: string): string => agentFailed('batch fork', `clone '${clone}' failed: ${error}`);
export const forked = (golden: string, clone: string): string =>
  `Forked '${golden}' -> '${clone}'. Golden stays frozen as the fork base (do not start it again while clones exist).\n`;
export const forkedHeld = (golden: string, clone: string): string =>
  `Forked '${golden}' -> held slot '${clone}'. Release it with \`smolvm machine fork-release --name ${clone}\`.\n`;
export const forkedBatch = (golden: string, count: number): string => `Forked ${count} clones from '${golden}' with one snapshot.\n`;
export const provisionedHeld = (golden: string, count: number): string => `Provisioned ${count} held slots from '${golden}' with one snapshot.\n`;

// vm_common.rs `release_held_fork`, fork.rs `activate_held_fork`.
const releaseFailed = (reason: string): string => agentFailed('release held fork', reason);
export const notAClone = (name: string): string => releaseFailed(`machine '${name}' is not a fork clone`);
export const notHeld = (name: string): string => releaseFailed(`clone '${name}' is not a held pool slot`);
export const activationFailed = (name: string, reason: string): string =>
  releaseFailed(`slot '${name}' was claimed and will not be reused after activation failed: ${agentFailed('activate held fork', reason)}`);
export const alreadyReleased = (name: string): string => `clone '${name}' was already released`;
export const notParked = (name: string): string => `clone '${name}' is not parked at a forkpoint`;
export const released = (name: string, golden: string): string => `Released held slot '${name}'. Replace it from '${golden}' after the workload completes.\n`;

// vm_common.rs `start_vm_named_with_db`: a frozen fork base is never re-launched.
export const startFrozen = (name: string, clones: readonly string[]): string =>
  agentFailed(
    'start',
    clones.length === 0
      ? `'${name}' is frozen because it retains a reusable fork checkpoint; stop it before restarting, or fork it again`
      : `'${name}' is frozen because it is the fork base for ${liveList(clones)}; their disks are copy-on-write overlays backed by its disks, so it cannot be re-launched while they exist — delete the clones first`,
  );
export const forkPoolNeedsCuda = configFailed('fork pool', '--fork-pool-size requires a CUDA-enabled machine');
// vm_common.rs `cli_recover_if_unreachable` (stdout).
export const recoveringUnreachable = (name: string, pid: number): string =>
  `Machine '${name}' is unreachable (PID ${pid} alive but agent unresponsive); cleaning up.\n`;
// vm_common.rs `stop_vm_named`.
export const stopForkBase = (name: string, clones: readonly string[]): string =>
  agentFailed('stop', `machine '${name}' is the fork base for ${liveList(clones)}; stop or delete the clones first`);
// vm_common.rs `delete_vm`.
export const deleteForkBase = (name: string, clones: readonly string[]): string =>
  agentFailed(
    'delete',
    `machine '${name}' is the fork base for ${list(clones)}; delete the clones first, use --cascade to remove them too, or --force to break them`,
  );
export const cascadeDeleting = (clone: string): string => `Deleting dependent clone '${clone}' (cascade)...\n`;
// `tracing::warn!` through `src/main.rs`'s fmt subscriber (stderr, target hidden). The layout
// (timestamp with microseconds, padded level, Debug-quoted &str field) is UNCONFIRMED.
export function forceDeleteWarning(nowMs: number, golden: string, clones: readonly string[]): string {
  const stamp = new Date(nowMs).toISOString().replace('Z', '000Z');
  return `${stamp}  WARN force-deleting a golden; dependent clones' disk overlays will dangle golden=${JSON.stringify(golden)} clones=${clones.join(', ')}\n`;
}
