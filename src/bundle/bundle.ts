/**
 * `startBundle`: start a bottle's host-side daemons in order, each on a free port of the one
 * address given, and stop them all (in reverse) on `stop()` or when any of them fails to start.
 */
import { ClaudeBottleError, ConfigError } from '../errors.ts';
import { freePort, isWildcardAddress, type Daemon, type DaemonName, type DaemonSpec } from '../daemon/daemon.ts';

/** A daemon of the bundle failed: `daemon` names it, `cause` keeps the original error. */
export class BundleError extends ClaudeBottleError {
  override name = 'BundleError';
  readonly daemon: DaemonName;
  readonly phase: 'port' | 'start' | 'stop';
  /** Errors from stopping the daemons already started (the rollback); empty when it went cleanly. */
  readonly stopErrors: readonly unknown[];
  constructor(daemon: DaemonName, phase: 'port' | 'start' | 'stop', cause: unknown, stopErrors: readonly unknown[] = []) {
    const why = cause instanceof Error ? cause.message : String(cause);
    const leak = stopErrors.length
      ? `\nstopping the daemons already started failed too: ${stopErrors.map((e) => (e instanceof Error ? e.message : String(e))).join('; ')}`
      : '';
    super(`daemon "${daemon}" failed to ${phase === 'port' ? 'get a port' : phase}: ${why}${leak}`, { cause });
    this.daemon = daemon;
    this.phase = phase;
    this.stopErrors = stopErrors;
  }
}

export interface BundleOptions {
  /** The one address every daemon binds: a loopback or a Docker network's gateway, never a wildcard unless `allowWildcard`. */
  readonly host: string;
  readonly allowWildcard?: boolean;
  /** Tries per daemon when its free port is taken before it binds; default 2. */
  readonly portAttempts?: number;
}

export interface Bundle extends AsyncDisposable {
  readonly host: string;
  /** In start order. */
  readonly daemons: readonly Daemon[];
  get(name: DaemonName): Daemon | undefined;
  /** `daemons_csv`: the names, comma-separated. */
  readonly csv: string;
  /** Stops every daemon, last started first. Idempotent; throws a BundleError naming the first that failed to stop. */
  stop(): Promise<void>;
}

/**
 * The comma-separated daemon names (`daemons_csv`), sorted and without duplicates. Never empty
 * when a daemon is planned; an empty list is `""` (no bundle at all).
 */
export function daemonsCsv(names: Iterable<DaemonName>): string {
  const unique = [...new Set(names)];
  for (const name of unique) {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) {
      const message = `${JSON.stringify(name)} is not a daemon name (lowercase a-z, 0-9 and '-')`;
      throw new ConfigError(`daemons: ${message}`, [{ path: 'daemons', message }]);
    }
  }
  return unique.sort().join(',');
}

function isAddressInUse(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE' || /EADDRINUSE/.test(e.message)) return true;
  }
  return false;
}

export async function startBundle(specs: readonly DaemonSpec[], options: BundleOptions): Promise<Bundle> {
  const { host } = options;
  if (isWildcardAddress(host) && !options.allowWildcard) {
    const message = `refusing to bind daemons to the wildcard address ${JSON.stringify(host)}: give a loopback or a network gateway address`;
    throw new ConfigError(message, [{ path: 'host', message }]);
  }
  const names = specs.map((s) => s.name);
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate !== undefined) {
    const message = `daemon "${duplicate}" is listed twice`;
    throw new ConfigError(message, [{ path: 'daemons', message }]);
  }

  const started: Daemon[] = [];
  const stopAll = async (): Promise<unknown[]> => {
    const errors: unknown[] = [];
    for (const daemon of [...started].reverse()) {
      try {
        await daemon.stop();
      } catch (error) {
        errors.push(new BundleError(daemon.name, 'stop', error));
      }
    }
    return errors;
  };

  for (const spec of specs) {
    const attempts = Math.max(1, options.portAttempts ?? 2);
    for (let attempt = 1; ; attempt++) {
      let port: number;
      try {
        port = await freePort(host);
      } catch (error) {
        throw new BundleError(spec.name, 'port', error, await stopAll());
      }
      try {
        const daemon = await spec.start(host, port);
        let stopped: Promise<void> | undefined;
        started.push({
          name: spec.name,
          host,
          port,
          url: daemon.url,
          ...(spec.healthPath ? { healthPath: spec.healthPath } : {}),
          stop: () => (stopped ??= daemon.stop()),
        });
        break;
      } catch (error) {
        if (attempt < attempts && isAddressInUse(error)) continue;
        throw new BundleError(spec.name, 'start', error, await stopAll());
      }
    }
  }

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      const [first] = await stopAll();
      if (first) throw first;
    })());
  return {
    host,
    daemons: started,
    get: (name) => started.find((d) => d.name === name),
    csv: daemonsCsv(started.map((d) => d.name)),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
