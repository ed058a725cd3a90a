/** What both suites share: time limits per kind of case, and why a case is skipped for a capability. */
import type { EngineCapabilities } from '../engine/types.ts';

/** Time limits per kind of case, in ms. */
export interface ContractTimeouts {
  /** One launch or so (default 60 s). */
  readonly case?: number;
  /** A launch with host daemons (default 120 s). */
  readonly daemons?: number;
  /** A fault at every engine call of a launch, each a launch and its rollback (default 600 s). */
  readonly sweep?: number;
  /** Setting up (the requirement check makes a machine) and cleaning up after each case (default 120 s). */
  readonly hook?: number;
}

export const DEFAULT_TIMEOUTS: Required<ContractTimeouts> = { case: 60_000, daemons: 120_000, sweep: 600_000, hook: 120_000 };

/** Why a case is skipped on an engine that lacks a capability. */
export const CAPABILITY_REASONS: Readonly<Record<keyof EngineCapabilities, string>> = {
  hostRoute: 'the engine offers no host route (capabilities.hostRoute is false): it cannot reach host daemons',
  treeUpload: 'the engine offers no tree upload (capabilities.treeUpload is false)',
  egressAllowList: 'the engine enforces no egress allow-list itself (capabilities.egressAllowList is false)',
  execAsUser: 'the engine cannot run commands as a chosen user (capabilities.execAsUser is false)',
  fork: 'the engine offers no fork (capabilities.fork is not set): Bottle.fork launches each copy anew',
};
