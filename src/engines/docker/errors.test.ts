import { describe, expect, it } from 'vitest';
import { EngineCommandError } from '../../errors.ts';
import { DockerError, isDockerFailure } from './errors.ts';

const result = (exitCode: number, stderr: string, timedOut = false) => ({ argv: ['docker', 'start', 'x'], exitCode, stderr, stdout: '', timedOut });

describe('DockerError', () => {
  // Lines as printed by docker 20.10 and 28 (captured on a real engine).
  it.each([
    ['Error response from daemon: No such container: x\nError: failed to start containers: x', 'not-found', 'No such container: x'],
    ['Error: No such object: x', 'not-found', 'No such object: x'],
    ['Error: No such container: x', 'not-found', 'No such container: x'],
    ['Error response from daemon: Container 5b20 is not running', 'not-running', 'Container 5b20 is not running'],
    [
      'Error response from daemon: Container x is paused, unpause the container before exec',
      'not-running',
      'Container x is paused, unpause the container before exec',
    ],
    [
      'Error response from daemon: Conflict. The container name "/x" is already in use by container "5b20". You have to remove (or rename) that container to be able to reuse that name.',
      'already-exists',
      'Conflict. The container name "/x" is already in use by container "5b20". You have to remove (or rename) that container to be able to reuse that name.',
    ],
    ['Error response from daemon: No such image: nope/nope:1', 'image-missing', 'No such image: nope/nope:1'],
    [
      "Unable to find image 'nope:1' locally\ndocker: Error response from daemon: pull access denied for nope",
      'image-missing',
      "Unable to find image 'nope:1' locally",
    ],
    [
      'Cannot connect to the Docker daemon at unix:///tmp/none.sock. Is the docker daemon running?',
      'unknown',
      'Cannot connect to the Docker daemon at unix:///tmp/none.sock. Is the docker daemon running?',
    ],
  ] as const)('classifies %j as %s', (stderr, kind, reason) => {
    const error = DockerError.fromResult(result(1, `${stderr}\n`));
    expect(error).toBeInstanceOf(EngineCommandError);
    expect(error.name).toBe('DockerError');
    expect(error.kind).toBe(kind);
    expect(error.reason).toBe(reason);
    expect(error.message).toContain('docker start x');
    expect(error.exitCode).toBe(1);
  });

  it('marks timeouts and names empty stderr by exit code', () => {
    expect(DockerError.fromResult(result(-1, '', true))).toMatchObject({ kind: 'timeout', reason: 'docker timed out', timedOut: true });
    expect(DockerError.fromResult(result(2, ''))).toMatchObject({ kind: 'unknown', reason: 'docker exited with code 2' });
  });

  it('an override replaces kind or reason and keeps the command', () => {
    const error = DockerError.fromResult(result(1, 'Error response from daemon: No such image: i\n'), { reason: 'image i is not local' });
    expect(error).toMatchObject({ kind: 'image-missing', reason: 'image i is not local', argv: ['docker', 'start', 'x'] });
    expect(error.message).toMatch(/^image i is not local: docker start x\nError response from daemon/);
  });
});

describe('isDockerFailure', () => {
  it("is docker's daemon or connection error on exit 1", () => {
    expect(isDockerFailure({ exitCode: 1, stderr: 'Error response from daemon: No such container: x\n', timedOut: false })).toBe(true);
    expect(isDockerFailure({ exitCode: 1, stderr: 'Cannot connect to the Docker daemon at unix:///x. Is the docker daemon running?\n', timedOut: false })).toBe(
      true,
    );
    expect(isDockerFailure({ exitCode: 1, stderr: 'error during connect: Get "http://x/v1.41/info": EOF\n', timedOut: false })).toBe(true);
    expect(isDockerFailure({ exitCode: -1, stderr: '', timedOut: true })).toBe(true);
  });

  it("is not the guest's own answer", () => {
    expect(isDockerFailure({ exitCode: 1, stderr: 'Error: my script failed\n', timedOut: false })).toBe(false);
    expect(isDockerFailure({ exitCode: 1, stderr: '', timedOut: false })).toBe(false);
    expect(isDockerFailure({ exitCode: 3, stderr: 'Error response from daemon: No such container: x\n', timedOut: false })).toBe(false);
    // The runtime's "executable file not found" (126/127) is the guest's answer.
    expect(
      isDockerFailure({
        exitCode: 126,
        stderr: 'OCI runtime exec failed: exec failed: unable to start container process: exec: "nope": executable file not found in $PATH: unknown\n',
        timedOut: false,
      }),
    ).toBe(false);
    expect(isDockerFailure({ exitCode: 1, stderr: 'warning: x\nError response from daemon: later line\n', timedOut: false })).toBe(false);
  });
});
