/**
 * A daemon child process that cannot outlive its launcher, even when the launcher is SIGKILLed
 * (no handler runs then). The child runs under a small POSIX `sh` watchdog that holds the read
 * end of a pipe from this process: when this process dies, for any reason, the kernel closes
 * the write end, the watchdog's `read` returns, and it terminates the child. Portable (Linux,
 * macOS), no native code, no `prctl`.
 */
import { type ChildProcess, spawn } from 'node:child_process';

/**
 * `$@` is the daemon's argv. fd 3 keeps the tether (our stdin pipe); the daemon itself gets
 * /dev/null. The watcher is a background subshell reading fd 3 explicitly (a background job's
 * stdin would be /dev/null). SIGTERM to the watchdog is passed on to the daemon.
 */
const WATCHDOG = [
  'exec 3<&0 </dev/null',
  '"$@" 3<&- &',
  'child=$!',
  'trap \'kill -TERM "$child" 2>/dev/null\' TERM INT HUP',
  '{ read -r _ <&3; kill -TERM "$child" 2>/dev/null; } &',
  'watcher=$!',
  'exec 3<&-',
  'wait "$child"; status=$?',
  // `wait` returns early when a trapped signal arrives: wait again until the daemon is gone.
  'while kill -0 "$child" 2>/dev/null; do wait "$child"; status=$?; done',
  'kill "$watcher" 2>/dev/null',
  'exit "$status"',
].join('\n');

export interface TetheredChild {
  readonly process: ChildProcess;
  /** The watchdog's pid (the daemon runs as its child, in the same process group). */
  readonly pid: number | undefined;
  exited(): boolean;
  /** SIGTERM (through the watchdog), then SIGKILL to the whole group after `graceMs`. Idempotent. */
  stop(graceMs: number): Promise<void>;
}

export interface TetherOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Receives the daemon's stderr. */
  readonly stderr?: (chunk: string) => void;
}

export function spawnTethered(bin: string, args: readonly string[], options: TetherOptions = {}): TetheredChild {
  // detached: its own process group, so a final SIGKILL reaches the daemon too, and a terminal's
  // Ctrl-C reaches only the launcher (which stops its daemons in order).
  const child = spawn('/bin/sh', ['-c', WATCHDOG, 'claude-bottle-tether', bin, ...args], {
    stdio: ['pipe', 'ignore', 'pipe'],
    env: options.env ?? process.env,
    detached: true,
  });
  child.stderr?.setEncoding('utf8');
  if (options.stderr) child.stderr?.on('data', options.stderr);
  // The tether is never written; an EPIPE once the watchdog is gone is expected.
  child.stdin?.on('error', () => undefined);
  const exited = (): boolean => child.exitCode !== null || child.signalCode !== null;
  let stopping: Promise<void> | undefined;
  return {
    process: child,
    pid: child.pid,
    exited,
    stop: (graceMs) =>
      (stopping ??= (async () => {
        if (exited()) return;
        child.stdin?.end();
        child.kill('SIGTERM');
        if (await waitForExit(child, graceMs)) return;
        if (child.pid !== undefined) {
          try {
            process.kill(-child.pid, 'SIGKILL');
          } catch {
            child.kill('SIGKILL');
          }
        }
        await waitForExit(child, graceMs);
      })()),
  };
}

export function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((done) => {
    const timer = setTimeout(() => done(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      done(true);
    });
  });
}
