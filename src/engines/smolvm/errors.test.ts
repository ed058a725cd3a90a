import { describe, expect, it } from 'vitest';
import { isSmolvmFailure, SmolvmError, parseSmolvmStderr, smolvmMissingBinary } from './errors.ts';

const result = (exitCode: number, stderr: string) => ({ argv: ['smolvm', 'machine', 'start', '--name', 'x'], exitCode, stderr, stdout: '', timedOut: false });

describe('SmolvmError', () => {
  it.each([
    ['Error: vm not found: x', 'not-found'],
    ["Error: config operation failed: machine status: machine 'x' not found", 'not-found'],
    ["Error: agent operation failed: connect: machine 'x' is not running. Use 'smolvm machine start --name x' first.", 'not-running'],
    ["Error: config operation failed: create machine: machine 'x' already exists or is being created", 'already-exists'],
    ['Error: config operation failed: cp: --mode/--uid/--gid apply to uploads only (host -> machine)', 'usage'],
    ['Error: agent operation failed: vm exec: failed to spawn command: No such file or directory (os error 2)', 'agent'],
    ['Error: kvm not available: /dev/kvm missing', 'unknown'],
  ] as const)('classifies %j as %s', (stderr, kind) => {
    const error = SmolvmError.fromResult(result(1, `${stderr}\n`));
    expect(error.kind).toBe(kind);
    expect(error.reason).toBe(stderr.slice('Error: '.length));
    expect(error.message).toContain('smolvm machine start --name x');
    expect(error.exitCode).toBe(1);
    expect(error.argv).toEqual(['smolvm', 'machine', 'start', '--name', 'x']);
  });

  it('reads clap usage errors on exit 2', () => {
    const stderr = "error: unexpected argument '--bogus' found\n\nUsage: smolvm machine start [OPTIONS]\n\nFor more information, try '--help'.\n";
    expect(parseSmolvmStderr(stderr, 2)).toMatchObject({ kind: 'usage', reason: "unexpected argument '--bogus' found" });
    expect(isSmolvmFailure({ exitCode: 2, stderr })).toBe(true);
  });

  it('does not mistake a guest exit for a smolvm failure', () => {
    expect(isSmolvmFailure({ exitCode: 1, stderr: 'Error: my script failed\n' })).toBe(false);
    expect(isSmolvmFailure({ exitCode: 1, stderr: '' })).toBe(false);
    expect(isSmolvmFailure({ exitCode: 2, stderr: 'error: bad input\n' })).toBe(false);
    expect(isSmolvmFailure({ exitCode: 1, stderr: 'Error: vm not found: x\n' })).toBe(true);
  });

  it('reads the agent failing to spawn a missing binary (a bare VM), and nothing else, as a missing binary', () => {
    expect(
      smolvmMissingBinary({ exitCode: 1, stderr: 'Error: agent operation failed: vm exec: failed to spawn command: No such file or directory (os error 2)\n' }),
    ).toBe('agent operation failed: vm exec: failed to spawn command: No such file or directory (os error 2)');
    expect(
      smolvmMissingBinary({ exitCode: 1, stderr: 'Error: agent operation failed: vm exec interactive: No such file or directory (os error 2)\n' }),
    ).toMatch(/interactive/);
    expect(smolvmMissingBinary({ exitCode: 1, stderr: 'Error: vm not found: x\n' })).toBeUndefined();
    expect(smolvmMissingBinary({ exitCode: 1, stderr: 'Error: agent operation failed: connect: refused\n' })).toBeUndefined();
  });

  it('marks timeouts', () => {
    const error = SmolvmError.fromResult({ ...result(-1, ''), timedOut: true });
    expect(error.kind).toBe('timeout');
    expect(error.timedOut).toBe(true);
  });
});
