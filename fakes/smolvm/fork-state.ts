/**
 * How smolvm resolves a machine's state once forks exist (`src/agent/state_probe.rs`, v1.9.2):
 * a fork base is `frozen`, a paused VMM that is not one is `unreachable`.
 */
import type { SmolvmModel } from './model.ts';
import type { MachineRecord, ResolvedState } from './records.ts';

/** `SmolvmDb::dependent_clones`: records whose `golden` is `name`, in registry (insertion) order. */
export function dependentClones(model: SmolvmModel, name: string): string[] {
  return [...model.machines.values()].filter((m) => m.record.golden === name).map((m) => m.record.name);
}

/** The VMM process is alive: the record says so and has a pid (`is_process_alive`). */
export function vmmAlive(r: MachineRecord): boolean {
  return (r.state === 'running' || r.state === 'unreachable') && r.pid !== null;
}

/** `has_frozen_fork_state`: dependent clones, or a checkpoint retained by this very process. */
export function hasFrozenForkState(model: SmolvmModel, r: MachineRecord): boolean {
  return dependentClones(model, r.name).length > 0 || r.vmm?.retainedCheckpoint === true;
}

/** `is_frozen_fork_base`: a running record whose process lives and which is a fork base. */
export function isFrozenForkBase(model: SmolvmModel, r: MachineRecord): boolean {
  return r.state === 'running' && r.pid !== null && hasFrozenForkState(model, r);
}

/**
 * `resolve_state`: a persisted state other than running passes through; a running record with
 * no live process is stopped; a fork base is frozen (never probed); otherwise the agent ping
 * decides, and a paused guest never answers one.
 */
export function resolvedState(model: SmolvmModel, r: MachineRecord): ResolvedState {
  if (r.state !== 'running') return r.state;
  if (r.pid === null) return 'stopped';
  if (hasFrozenForkState(model, r)) return 'frozen';
  return r.vmm?.paused ? 'unreachable' : 'running';
}

/** `try_connect_existing`: the agent answers a ping (a frozen guest's never does). */
export function agentAnswers(r: MachineRecord): boolean {
  return r.state === 'running' && r.pid !== null && r.vmm?.paused !== true;
}

/** The VMM is gone; `AgentManager::stop` also drops a retained checkpoint with it. */
export function markStopped(r: MachineRecord): void {
  r.state = 'stopped';
  r.pid = null;
  delete r.vmm;
}
