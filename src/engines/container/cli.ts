/**
 * What one container CLI (docker, podman) brings to the shared engine: its argv quirks, the
 * names its own process reads from the environment, and how to read its failures and output.
 */
import type { EngineCommandError, EngineErrorKind } from '../../errors.ts';
import type { MachineInfo, MachineState, NetworkInfo } from '../../engine/types.ts';
import type { CommandResult } from '../../transport/types.ts';
import type { ContainerCliArgs } from './argv.ts';
import type { CliEnvNames } from './env.ts';
import { array, nullish, object, optional, readJson, record, string } from './json.ts';

export type FailedCommand = Pick<CommandResult, 'argv' | 'exitCode' | 'stderr' | 'stdout' | 'timedOut'>;

/**
 * A CLI error's fields: the caller's override, else a timeout, else what the CLI's stderr says
 * (`parsed`, each CLI's own reading), with the call's argv and output.
 */
export function errorFields(
  program: string,
  result: FailedCommand,
  parsed: { readonly kind: EngineErrorKind; readonly reason: string },
  override?: { kind?: EngineErrorKind; reason?: string },
): ConstructorParameters<typeof EngineCommandError>[0] {
  const { timedOut } = result;
  return {
    kind: override?.kind ?? (timedOut ? 'timeout' : parsed.kind),
    reason: override?.reason ?? (timedOut ? `${program} timed out` : parsed.reason),
    argv: result.argv,
    exitCode: result.exitCode,
    stderr: result.stderr,
    stdout: result.stdout,
    timedOut,
  };
}

/** A network as the engine reads it back: what `removeNetwork` and the route hooks need. */
export interface ContainerNetwork extends NetworkInfo {
  /** The host-side address of the network (its bridge's gateway). */
  readonly gateway?: string;
  /** The gateway's prefix length, e.g. 24. */
  readonly prefixLength?: number;
  /** The network's (first) subnet, e.g. `10.89.0.0/24`. */
  readonly subnet?: string;
  /** The host interface (bridge) the engine uses for it, when it says. */
  readonly hostInterface?: string;
}

/** A network's JSON, less what the engine counts itself (`machines` when the CLI does not print it). */
export type ParsedNetwork = Omit<ContainerNetwork, 'machines'> & { readonly machines?: number };

export interface ContainerCli extends ContainerCliArgs {
  /** `docker`, `podman`: for messages and `Engine.kind`. */
  readonly kind: string;
  readonly isCliEnvName: CliEnvNames;
  /** The CLI's own failure as an error of its class, classified from its stderr. */
  error(result: FailedCommand, override?: { kind?: EngineErrorKind; reason?: string }): EngineCommandError;
  /** Whether an exec's result is the CLI's own failure rather than the guest's answer. */
  isExecFailure(result: Pick<CommandResult, 'exitCode' | 'stderr' | 'timedOut'>): boolean;
  /** The runtime's message when an exec's guest binary does not exist (reported as exit 127). */
  missingBinary(result: Pick<CommandResult, 'exitCode' | 'stderr' | 'stdout'>): string | undefined;
  /** Whether stderr says a network does not exist. */
  isNoSuchNetwork(stderr: string): boolean;
  /** The networks in `network inspect`'s JSON array. */
  parseNetworks(stdout: string): ParsedNetwork[];
  /** How a user makes an image local, for the image-missing message. */
  loadHint(image: string): string;
}

const STATES: Readonly<Record<string, MachineState>> = {
  created: 'created',
  configured: 'created',
  initialized: 'created',
  running: 'running',
  paused: 'frozen',
  exited: 'stopped',
  stopped: 'stopped',
  stopping: 'stopped',
  dead: 'stopped',
  removing: 'stopped',
};

// docker and podman print the same fields for a container; docker's Name has a leading "/".
const InspectJson = array(
  object({
    Id: string,
    Name: string,
    State: object({ Status: string }),
    Config: object({ Image: optional(string), Labels: nullish(record(string)) }),
  }),
);

export function parseContainers(stdout: string): MachineInfo[] {
  if (stdout.trim() === '') return [];
  return readJson(stdout, InspectJson, 'container inspect').map((c) => ({
    id: c.Id,
    name: c.Name.replace(/^\//, ''),
    state: STATES[c.State.Status] ?? 'unknown',
    image: c.Config.Image || null,
    labels: c.Config.Labels ?? {},
  }));
}
