/**
 * A daemon child process that cannot outlive its launcher, even when the launcher is SIGKILLed
 * (no handler runs then). The child runs under a small POSIX `sh` watchdog that holds the read
 * end of a pipe from this process: when this process dies, for any reason, the kernel closes
 * the write end, the watchdog's `read` returns, and it terminates the child. Portable (Linux,
 * macOS), no native code, no `prctl`.
 */
import { type ChildProcess, spawn } from 'node:child_process';

/**
 * `$1` is the grace in seconds, the rest the daemon's argv. fd 3 keeps the tether (our stdin
 * pipe); the daemon itself gets /dev/null. The watcher is a background subshell reading fd 3
 * explicitly (a background job's stdin would be /dev/null); when the tether breaks it sends
 * SIGTERM, then SIGKILL after the grace: a daemon ignoring TERM must not keep its port. The
 * watchdog kills the watcher as soon as it has reaped the daemon, so a late KILL meets no reused pid.
 * SIGTERM to the watchdog is passed on to the daemon.
 */
const WATCHDOG = [
  'grace=$1; shift',
  'exec 3<&0 </dev/null',
  '"$@" 3<&- &',
  'child=$!',
  'trap \'kill -TERM "$child" 2>/dev/null\' TERM INT HUP',
  // The sleep drops the tether and stderr: a leftover sleep must not hold the launcher's pipes.
  // `|| sleep 1`: a sleep without fractions refuses `0.5`.
  '{ read -r _ <&3; kill -TERM "$child" 2>/dev/null; exec 3<&- >/dev/null 2>&1; sleep "$grace" || sleep 1; kill -KILL "$child" 2>/dev/null; } &',
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
  /** When the launcher dies: SIGTERM, then SIGKILL this long after; default 3000. */
  readonly killGraceMs?: number;
}

export const DEFAULT_KILL_GRACE_MS = 3000;

export function spawnTethered(bin: string, args: readonly string[], options: TetherOptions = {}): TetheredChild {
  // detached: its own process group, so a final SIGKILL reaches the daemon too, and a terminal's
  // Ctrl-C reaches only the launcher (which stops its daemons in order).
  const grace = String(Math.max(0, options.killGraceMs ?? DEFAULT_KILL_GRACE_MS) / 1000);
  const child = spawn('/bin/sh', ['-c', WATCHDOG, 'claude-bottle-tether', grace, bin, ...args], {
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
