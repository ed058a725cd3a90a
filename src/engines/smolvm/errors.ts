import { EngineCommandError, type EngineErrorKind } from '../../errors.ts';
import type { CommandResult } from '../../transport/types.ts';

/** A failed smolvm call, parsed from its `Error: …` line. Not used for a guest's own non-zero exit. */
export class SmolvmError extends EngineCommandError {
  override name = 'SmolvmError';

  static fromResult(result: Pick<CommandResult, 'argv' | 'exitCode' | 'stderr' | 'stdout' | 'timedOut'>): SmolvmError {
    const parsed = parseSmolvmStderr(result.stderr, result.exitCode);
    return new SmolvmError({
      kind: result.timedOut ? 'timeout' : parsed.kind,
      reason: result.timedOut ? 'smolvm timed out' : parsed.reason,
      argv: result.argv,
      exitCode: result.exitCode,
      stderr: result.stderr,
      stdout: result.stdout,
      timedOut: result.timedOut,
    });
  }
}

export interface ParsedStderr {
  readonly kind: EngineErrorKind;
  readonly reason: string;
  /** True when stderr carries smolvm's own `Error: ` line (or clap's usage error). */
  readonly fromSmolvm: boolean;
}

/** smolvm prints `Error: <Display>` and exits 1; clap prints `error: …` and exits 2. */
export function parseSmolvmStderr(stderr: string, exitCode: number): ParsedStderr {
  const lines = stderr.split(/\r?\n/);
  const errorLine = lines.find((l) => l.startsWith('Error: '));
  if (errorLine) {
    const reason = errorLine.slice('Error: '.length).trim();
    return { kind: classify(reason), reason, fromSmolvm: true };
  }
  const clap = lines.find((l) => l.startsWith('error: '));
  if (clap && exitCode === 2) {
    return { kind: 'usage', reason: clap.slice('error: '.length).trim(), fromSmolvm: true };
  }
  const last = lines
    .map((l) => l.trim())
    .filter(Boolean)
    .at(-1);
  return { kind: 'unknown', reason: last ?? `smolvm exited with code ${exitCode}`, fromSmolvm: false };
}

function classify(reason: string): EngineErrorKind {
  if (/^vm not found: /.test(reason) || /machine '[^']*' not found/.test(reason)) return 'not-found';
  if (/is not running/.test(reason)) return 'not-running';
  if (/already exists/.test(reason)) return 'already-exists';
  if (/^config operation failed: /.test(reason)) return 'usage';
  if (/^agent operation failed: /.test(reason)) return 'agent';
  return 'unknown';
}

// Exit 1 is ambiguous (the guest's `exit 1`, or smolvm failing): only smolvm's known Display
// prefixes on an `Error: ` line, or clap's usage block on exit 2, mark smolvm's own failure.
const SMOLVM_ERROR_LINE =
  /^Error: (vm not found|config operation failed|agent operation failed|invalid vm state|mount operation failed|io operation failed|kvm |hypervisor )/m;

export function isSmolvmFailure(result: Pick<CommandResult, 'exitCode' | 'stderr'>): boolean {
  if (result.exitCode === 1) return SMOLVM_ERROR_LINE.test(result.stderr);
  if (result.exitCode === 2) return parseSmolvmStderr(result.stderr, 2).kind === 'usage' && /\nUsage: /.test(result.stderr);
  return false;
}

/** The agent's message when the guest binary does not exist (a bare VM's exec spawns it directly). */
export function smolvmMissingBinary(result: Pick<CommandResult, 'exitCode' | 'stderr'>): string | undefined {
  const { kind, reason } = parseSmolvmStderr(result.stderr, result.exitCode);
  if (kind !== 'agent' || !/^agent operation failed: vm exec( interactive)?: (failed to spawn command: )?No such file or directory/.test(reason))
    return undefined;
  return reason;
}
