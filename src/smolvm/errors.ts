import { ClaudeBottleError, formatArgv } from '../errors.ts';
import type { CommandResult } from '../transport/types.ts';

export type SmolvmErrorKind =
  | 'not-found'
  | 'not-running'
  | 'already-exists'
  | 'usage'
  | 'agent'
  | 'timeout'
  | 'unknown';

/** The one error type for a failed smolvm call: argv, exit code and stderr, classified. */
export class SmolvmError extends ClaudeBottleError {
  override name = 'SmolvmError';
  readonly kind: SmolvmErrorKind;
  readonly argv: readonly string[];
  readonly exitCode: number;
  readonly stderr: string;
  readonly stdout: string;
  /** The text after `Error: `, or the clap `error: ` line, or the last stderr line. */
  readonly reason: string;

  constructor(result: Pick<CommandResult, 'argv' | 'exitCode' | 'stderr' | 'stdout' | 'timedOut'>, reason?: string) {
    const parsed = parseSmolvmStderr(result.stderr, result.exitCode);
    const kind: SmolvmErrorKind = result.timedOut ? 'timeout' : parsed.kind;
    const why = reason ?? (result.timedOut ? 'timed out' : parsed.reason);
    const stderr = result.stderr.trim();
    super(`${why}: ${formatArgv(result.argv)}${stderr && !stderr.includes(why) ? `\n${stderr}` : stderr && why !== stderr ? `\n${stderr}` : ''}`);
    this.kind = kind;
    this.argv = result.argv;
    this.exitCode = result.exitCode;
    this.stderr = result.stderr;
    this.stdout = result.stdout;
    this.reason = why;
  }
}

/** Read smolvm's `Error: …` line (exit 1) or clap's `error: …` (exit 2). */
export function parseSmolvmStderr(stderr: string, exitCode: number): { kind: SmolvmErrorKind; reason: string; isSmolvmError: boolean } {
  const lines = stderr.split(/\r?\n/);
  const errorLine = lines.find((l) => l.startsWith('Error: '));
  if (errorLine) {
    const reason = errorLine.slice('Error: '.length).trim();
    return { kind: classify(reason), reason, isSmolvmError: true };
  }
  const clap = lines.find((l) => l.startsWith('error: '));
  if (clap && exitCode === 2) {
    return { kind: 'usage', reason: clap.slice('error: '.length).trim(), isSmolvmError: true };
  }
  const last = lines.map((l) => l.trim()).filter(Boolean).at(-1);
  return { kind: 'unknown', reason: last ?? `exit code ${exitCode}`, isSmolvmError: false };
}

function classify(reason: string): SmolvmErrorKind {
  if (/^vm not found: /.test(reason) || /machine '[^']*' not found/.test(reason)) return 'not-found';
  if (/is not running/.test(reason)) return 'not-running';
  if (/already exists/.test(reason)) return 'already-exists';
  if (/^agent operation failed: /.test(reason)) return 'agent';
  if (/^config operation failed: /.test(reason) && /(invalid|must|one of SRC|apply to uploads only|not allowed)/.test(reason)) return 'usage';
  return 'unknown';
}
