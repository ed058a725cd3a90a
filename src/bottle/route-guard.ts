/**
 * A route guard: a tethered `sh` that waits, and on SIGTERM runs a route's closer (the command
 * that undoes its `allow`). The tether sends that TERM when the launcher dies, even when it is
 * SIGKILLed, so an orphaned guest cannot reach its dead daemons' ports, nor whatever host process
 * listens on them later. `stop()` sends it too: the closer then runs after a normal teardown,
 * where it is harmless (it undoes what is gone already, or fails changing nothing).
 */
import { spawnTethered, type TetheredChild } from '../daemon/tether.ts';
import type { RouteCloser } from '../engine/types.ts';

/** The closer's stdin travels in the environment: an argv is readable by every user of the host. */
const STDIN_ENV = 'CLAUDE_BOTTLE_CLOSER_STDIN';

/**
 * `$@` is the closer's argv. `wait` returns as soon as a trapped signal arrives, so the trap runs
 * promptly; it also ends the sleep, which would otherwise outlive the guard by up to an hour.
 */
const GUARD = [
  's=',
  `trap 'printf "%s" "$${STDIN_ENV}" | "$@" >/dev/null 2>&1; [ -n "$s" ] && kill "$s" 2>/dev/null && wait "$s"; exit 0' TERM INT HUP`,
  'while :; do sleep 3600 & s=$!; wait "$s"; done',
].join('\n');

/** The guard's grace, once signalled, before SIGKILL: room for `iptables-restore -w` to wait out another holder of the lock. */
const GUARD_GRACE_MS = 5_000;

export interface RouteGuard {
  /** Runs the closer (through the guard's TERM) and waits for the guard to exit. Idempotent. */
  stop(): Promise<void>;
  /** The watchdog's pid (the guard's process group). */
  readonly pid: number | undefined;
}

export function guardRoute(closer: RouteCloser): RouteGuard {
  if (closer.argv.length === 0) throw new RangeError('a route closer needs an argv');
  const child: TetheredChild = spawnTethered('/bin/sh', ['-c', GUARD, 'claude-bottle-route-guard', ...closer.argv], {
    // Only what the closer needs: the launcher's environment may hold secrets.
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', [STDIN_ENV]: closer.stdin },
    killGraceMs: GUARD_GRACE_MS,
  });
  // No one reads its stderr (the closer's goes to /dev/null); keep the pipe from filling anyway.
  child.process.stderr?.resume();
  return { pid: child.pid, stop: () => child.stop(GUARD_GRACE_MS) };
}
