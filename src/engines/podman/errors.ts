import { EngineCommandError, type EngineErrorKind } from '../../errors.ts';
import type { CommandResult } from '../../transport/types.ts';
import { errorFields, type FailedCommand } from '../container/cli.ts';

/** A failed podman CLI call, classified from podman's `Error: …` line. Not used for a guest's own non-zero exit. */
export class PodmanError extends EngineCommandError {
  override name = 'PodmanError';

  static fromResult(result: FailedCommand, override?: { kind?: EngineErrorKind; reason?: string }): PodmanError {
    return new PodmanError(errorFields('podman', result, parsePodmanStderr(result.stderr, result.exitCode), override));
  }
}

/** podman prints `Error: <what>` last and exits 125 (exec's own failures: 125, or 255 on 4.3 for a stopped container). */
function parsePodmanStderr(stderr: string, exitCode: number): { kind: EngineErrorKind; reason: string } {
  const lines = stderr
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  const line = lines.findLast((l) => /^Error: /.test(l)) ?? lines.at(-1);
  const reason = line?.replace(/^Error:\s*/, '') ?? (exitCode === -1 ? 'podman was cancelled' : `podman exited with code ${exitCode}`);
  return { kind: classify(stderr), reason };
}

function classify(stderr: string): EngineErrorKind {
  if (/no container with name or ID .* found|no such container|container .* does not exist/i.test(stderr)) return 'not-found';
  if (/can only create exec sessions on running containers|container state improper|is not running/i.test(stderr)) return 'not-running';
  if (/name .* is already in use/i.test(stderr)) return 'already-exists';
  if (/image not known|no such image|unable to find .* in local storage/i.test(stderr)) return 'image-missing';
  return 'unknown';
}

const EXEC_FAILURE_LINE =
  /^Error: (no container with name or ID|can only create exec sessions|container state improper|cannot open|.*: no such container|.*OCI runtime error)/m;

/**
 * Whether a `podman exec` result is podman's own failure rather than the guest's answer: exit
 * 125 (podman's own code; a guest exiting 125 with an `Error: ` last line is indistinguishable),
 * or 255 with podman's line for a container that is not running (podman 4.3).
 */
export function isPodmanFailure(result: Pick<CommandResult, 'exitCode' | 'stderr' | 'timedOut'>): boolean {
  if (result.timedOut || result.exitCode < 0) return true;
  if (result.exitCode === 125) return /^Error: /m.test(result.stderr.trimEnd().split(/\r?\n/).at(-1) ?? '');
  if (result.exitCode === 255) return EXEC_FAILURE_LINE.test(result.stderr);
  return false;
}

/** The runtime's message when the guest binary does not exist: podman exits 127 with it (126 for one it cannot execute). */
export function podmanMissingBinary(result: Pick<CommandResult, 'exitCode' | 'stderr' | 'stdout'>): string | undefined {
  if (result.exitCode !== 127 && result.exitCode !== 126) return undefined;
  const line = result.stderr.split(/\r?\n/).find((l) => /^Error: .*(runc|crun|OCI runtime)/.test(l.trim()));
  if (!line || !/executable file not found|no such file or directory|command that was not found/i.test(line)) return undefined;
  return line.trim().replace(/^Error:\s*/, '');
}

export function isNoSuchPodmanNetwork(stderr: string): boolean {
  return /network not found|unable to find network/i.test(stderr);
}
