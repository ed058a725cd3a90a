import { EngineCommandError, type EngineErrorKind } from '../../errors.ts';
import type { CommandResult } from '../../transport/types.ts';
import { errorFields, type FailedCommand } from '../container/cli.ts';

/** A failed docker CLI call, classified from docker's stderr. Not used for a guest's own non-zero exit. */
export class DockerError extends EngineCommandError {
  override name = 'DockerError';

  static fromResult(result: FailedCommand, override?: { kind?: EngineErrorKind; reason?: string }): DockerError {
    return new DockerError(errorFields('docker', result, parseDockerStderr(result.stderr, result.exitCode), override));
  }
}

interface ParsedDockerStderr {
  readonly kind: EngineErrorKind;
  readonly reason: string;
}

/** Lines the docker CLI prints for its own failures (daemon errors, unreachable engine). */
const DOCKER_FAILURE_LINE =
  /^(Error response from daemon: |Error: No such (container|object)|Cannot connect to the Docker daemon|error during connect|failed to connect to the docker API)/;

function parseDockerStderr(stderr: string, exitCode: number): ParsedDockerStderr {
  const lines = stderr
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  const first = lines.find((l) => DOCKER_FAILURE_LINE.test(l)) ?? lines.find((l) => /^Error: /i.test(l)) ?? lines[0];
  const reason =
    first?.replace(/^(Error response from daemon|Error):\s*/i, '') ?? (exitCode === -1 ? 'docker was cancelled' : `docker exited with code ${exitCode}`);
  return { kind: classify(stderr), reason };
}

function classify(stderr: string): EngineErrorKind {
  if (/No such container|No such object/i.test(stderr)) return 'not-found';
  if (/is not running|is paused|is restarting/i.test(stderr)) return 'not-running';
  if (/Conflict\. The container name .* is already in use/i.test(stderr)) return 'already-exists';
  if (/No such image|pull access denied|Unable to find image/i.test(stderr)) return 'image-missing';
  return 'unknown';
}

/**
 * Whether a `docker exec` result is docker's own failure rather than the guest's answer.
 * The CLI exits 1 for daemon errors; a guest that exits 1 with the very same line is
 * indistinguishable, so only the daemon's first-line shapes count. The runtime's failure to
 * start the guest binary (exit 126) is the guest's answer (see `dockerMissingBinary`).
 */
export function isDockerFailure(result: Pick<CommandResult, 'exitCode' | 'stderr' | 'timedOut'>): boolean {
  if (result.timedOut || result.exitCode < 0) return true;
  if (result.exitCode !== 1) return false;
  const first = result.stderr.split(/\r?\n/).find((l) => l.trim() !== '');
  return first !== undefined && DOCKER_FAILURE_LINE.test(first.trim());
}

/**
 * The runtime's message when the guest binary does not exist. docker exits 126 for it (20.10
 * prints it on stdout, newer ones on stderr), the same code as for a file it cannot execute.
 */
export function dockerMissingBinary(result: Pick<CommandResult, 'exitCode' | 'stderr' | 'stdout'>): string | undefined {
  if (result.exitCode !== 126 && result.exitCode !== 127) return undefined;
  const line = `${result.stderr}\n${result.stdout}`.split(/\r?\n/).find((l) => /^OCI runtime exec failed: /.test(l.trim()));
  if (!line || !/executable file not found|no such file or directory/i.test(line)) return undefined;
  return line.trim();
}

export function isNoSuchDockerNetwork(stderr: string): boolean {
  return /No such network|network .* not found/i.test(stderr);
}
