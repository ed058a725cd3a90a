/**
 * The test doubles the contract suites use, exported for backend authors: an engine wrapper that
 * fails a chosen call (the same way for every adapter), one that watches host routes, a
 * transport that records argv, and small probes of the host side (TCP outcomes, git) with the
 * one git environment every test uses.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { bottleRunDir } from '../bottle/launch.ts';
import { guestProbe } from '../daemon/daemon.ts';
import { PIPELOCK_CONFIG_FILE } from '../daemons/pipelock/daemon.ts';
import type { Engine, HostRoute, HostRouteOptions } from '../engine/types.ts';
import { EngineCommandError } from '../errors.ts';
import type { Plan } from '../plan/plan.ts';
import type { CommandResult, RunOptions, Transport } from '../transport/types.ts';

/**
 * A transport that runs nothing: each call is answered by `reply` (exit 0 and empty output
 * unless it says otherwise) and recorded, its argv in `calls` and its options in `options`.
 */
export function scriptedTransport(reply: (argv: readonly string[]) => Partial<CommandResult> | Promise<Partial<CommandResult>> = () => ({})): {
  transport: Transport;
  calls: (readonly string[])[];
  options: RunOptions[];
} {
  const calls: (readonly string[])[] = [];
  const options: RunOptions[] = [];
  const transport: Transport = {
    async run(argv, runOptions = {}) {
      calls.push(argv);
      options.push(runOptions);
      const r = await reply(argv);
      const stdout = r.stdout ?? '';
      return { argv, exitCode: 0, stderr: '', durationMs: 1, timedOut: false, ...r, stdout, stdoutBytes: new TextEncoder().encode(stdout) };
    },
  };
  return { transport, calls, options };
}

export { git, gitEnv, gitOk, hostGit, hostRepo, zeroBlobPack, type GitEnvOptions, type GitResult, type GitRunOptions } from './git.ts';

/** Wraps a transport so the contract can check what reached argv. */
export function recordCalls(inner: Transport): { transport: Transport; calls: () => readonly (readonly string[])[] } {
  const calls: (readonly string[])[] = [];
  return {
    transport: {
      run(argv, options) {
        calls.push([...argv]);
        return inner.run(argv, options);
      },
    },
    calls: () => calls,
  };
}

/** The Engine methods `faultyEngine` counts: every one that may reach the engine. */
export const ENGINE_METHODS = [
  'create',
  'start',
  'stop',
  'remove',
  'upload',
  'uploadTree',
  'exec',
  'status',
  'list',
  'hostRoute',
  'networkStatus',
  'listNetworks',
  'removeNetwork',
  'fork',
  'removeForkBase',
  'listForkBases',
] as const;
export type EngineMethod = (typeof ENGINE_METHODS)[number];

/** One Engine-method call: its name and arguments. */
export interface EngineCall {
  readonly method: EngineMethod;
  readonly args: readonly unknown[];
}

export interface FaultyEngine {
  /** The engine to hand to `launch`: every Engine-method call is counted, and the armed ones fail. */
  readonly engine: Engine;
  /** Every Engine-method call so far, in order (a failed one included). */
  readonly calls: readonly EngineCall[];
  /**
   * Fails the k-th Engine-method call from now (1 = the next): it throws an `EngineCommandError`
   * (kind `unknown`, argv `[kind, method, first argument]`) without reaching the adapter.
   */
  failCall(k: number): void;
  /** Clears every armed fault not yet fired (an operation that made fewer calls than the fault's number left it armed). */
  disarm(): void;
}

/**
 * Wraps an engine so a test can fail any one of its calls, whatever the adapter: rollback is
 * then tested the same way for every backend, with no knowledge of the engine's own errors.
 * `checkConfig` and `capabilities` pass through uncounted: they never reach the engine.
 */
export function faultyEngine(inner: Engine): FaultyEngine {
  const calls: EngineCall[] = [];
  const armed = new Set<number>();
  const methods = new Set<string>(ENGINE_METHODS);
  const engine = new Proxy(inner, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      const bound = (value as (...args: unknown[]) => unknown).bind(target);
      if (typeof prop !== 'string' || !methods.has(prop)) return bound;
      const method = prop as EngineMethod;
      return async (...args: unknown[]): Promise<unknown> => {
        calls.push({ method, args });
        const n = calls.length;
        if (armed.delete(n)) {
          throw new EngineCommandError({
            kind: 'unknown',
            reason: `injected fault at engine call ${n} (${method})`,
            argv: [target.kind, method, ...(typeof args[0] === 'string' ? [args[0]] : [])],
            exitCode: 1,
            stderr: 'injected by faultyEngine (claude-bottle/testing)\n',
          });
        }
        return bound(...args);
      };
    },
  });
  return {
    engine,
    calls,
    failCall(k) {
      if (!Number.isInteger(k) || k < 1) throw new RangeError('failCall: the call number is 1-based');
      armed.add(calls.length + k);
    },
    disarm() {
      armed.clear();
    },
  };
}

/** The guest argv of every `exec` among `calls` (e.g. for `probedDaemons`). */
export function execArgvs(calls: readonly EngineCall[]): (readonly string[])[] {
  return calls.filter((c) => c.method === 'exec').map((c) => c.args[1] as readonly string[]);
}

/** What a faulted transport call answers instead of running. */
export type InjectedFault = Pick<CommandResult, 'exitCode' | 'stderr'> & { readonly stdout?: string };

/** Faults armed on a transport (`injectFaults`). */
export interface TransportFaults {
  /** Fails the transport's nth call from now (1 = the next). */
  injectFault(nthCallFromNow: number): void;
  /** Clears every armed fault not yet fired (an operation that made fewer calls than the fault's number left it armed). */
  disarm(): void;
}

/**
 * Wraps a transport so a test can fail its nth call from now: that call does not run and
 * answers `fault(argv)` instead. Engine-specific: the answer must read as the engine's own
 * failure to its adapter (e.g. docker's `Error response from daemon: …` with exit 1), which is
 * why the backend suite uses `faultyEngine` instead. The engine contract takes it
 * (`EngineUnderTest.transportFaults`) to fail each CLI call inside an engine's own `fork`.
 */
export function injectFaults(inner: Transport, fault: (argv: readonly string[]) => InjectedFault): TransportFaults & { transport: Transport } {
  let started = 0;
  const armed = new Set<number>();
  return {
    transport: {
      run(argv, options) {
        const call = ++started;
        if (!armed.delete(call)) return inner.run(argv, options);
        const { exitCode, stderr, stdout = '' } = fault(argv);
        return Promise.resolve({
          argv: [...argv],
          exitCode,
          stdout,
          stderr,
          stdoutBytes: new TextEncoder().encode(stdout),
          durationMs: 0,
          timedOut: false,
        });
      },
    },
    injectFault(nthCallFromNow) {
      if (!Number.isInteger(nthCallFromNow) || nthCallFromNow < 1) throw new RangeError('injectFault: the call number is 1-based');
      armed.add(started + nthCallFromNow);
    },
    disarm() {
      armed.clear();
    },
  };
}

/** A route a launch got from the engine, and what became of its network. */
export interface ObservedRoute {
  readonly machine: string;
  readonly route: HostRoute;
  /** How many times its network was removed (always 0 for a route without a network). */
  releases: number;
}

/**
 * Wraps an engine to see the host routes launches get from it: every route is kept under its
 * machine's name, and `beforeRelease` (when set) runs as a route's network is removed (after
 * the launch or `remove()` has stopped the daemons, while the route's address still exists).
 * A route without a network has nothing to remove: its address (a loopback) outlives the
 * bottle, so `settle(machine)`, called once the bottle is gone, runs `beforeRelease` for it.
 */
export function observeHostRoutes(engine: Engine): {
  engine: Engine;
  routes: Map<string, ObservedRoute>;
  beforeRelease: ((observed: ObservedRoute) => Promise<void>) | undefined;
  settle(machine: string): Promise<void>;
} {
  const routes = new Map<string, ObservedRoute>();
  const observer = {
    engine: engine,
    routes,
    beforeRelease: undefined as ((observed: ObservedRoute) => Promise<void>) | undefined,
    async settle(machine: string): Promise<void> {
      const observed = routes.get(machine);
      if (!observed || observed.route.network !== undefined || observed.releases > 0) return;
      observed.releases++;
      await observer.beforeRelease?.(observed);
    },
  };
  const hostRoute = engine.hostRoute?.bind(engine);
  const removeNetwork = engine.removeNetwork?.bind(engine);
  const networkStatus = engine.networkStatus?.bind(engine);
  const wrapped = async (machine: string, options: HostRouteOptions): Promise<HostRoute> => {
    const route = await need(hostRoute)(machine, options);
    routes.set(machine, { machine, route, releases: 0 });
    return route;
  };
  const wrappedRemoveNetwork = async (nameOrId: string): Promise<void> => {
    const info = await networkStatus?.(nameOrId);
    const observed = [...routes.values()].find((r) => r.route.network !== undefined && (r.route.network === nameOrId || r.route.network === info?.name));
    if (observed) {
      observed.releases++;
      await observer.beforeRelease?.(observed);
    }
    await need(removeNetwork)(nameOrId);
  };
  // Methods run bound to the engine itself: adapters keep private fields.
  observer.engine = new Proxy(engine, {
    get(target, prop) {
      if (prop === 'hostRoute') return hostRoute ? wrapped : undefined;
      if (prop === 'removeNetwork') return removeNetwork ? wrappedRemoveNetwork : undefined;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return observer;
}

/** What a TCP connection to `host:port` meets within 3 s: `refused` once a daemon has stopped. */
export function connectOutcome(host: string, port: number): Promise<'accepted' | 'refused' | 'timeout' | string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (outcome: string): void => {
      socket.destroy();
      resolve(outcome);
    };
    socket.setTimeout(3000, () => done('timeout'));
    socket.once('connect', () => done('accepted'));
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code === 'ECONNREFUSED' ? 'refused' : (error.code ?? error.message)));
  });
}

/** TCP servers this process listens on (the in-process daemons: supervise, git gate). */
export function tcpServers(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === 'TCPServerWrap').length;
}

const PROBE_SCRIPT = guestProbe({ name: 'x', port: 1 }, 'x')[2] as string;

/** The daemons a launch probed, read back from the probe argvs it sent. */
export function probedDaemons(argvs: readonly (readonly string[])[]): { name: string; port: number }[] {
  const found: { name: string; port: number }[] = [];
  for (const argv of argvs) {
    const at = argv.indexOf(PROBE_SCRIPT);
    if (at < 0 || argv[at + 1] !== 'probe') continue;
    found.push({ name: argv[at + 4] as string, port: Number(argv[at + 3]) });
  }
  return found;
}

/** The port pipelock was configured to listen on for this machine, if its config was written (read synchronously: from `onStep`). */
export function pipelockPort(plan: Plan, machine: string): number | undefined {
  if (!plan.proxy) return undefined;
  let yaml = '';
  try {
    yaml = readFileSync(join(bottleRunDir(plan, machine), 'pipelock', PIPELOCK_CONFIG_FILE), 'utf8');
  } catch {
    return undefined;
  }
  const match = /listen:\s*"?\[?[^"\s]*?\]?:(\d+)"?/.exec(yaml);
  return match ? Number(match[1]) : undefined;
}

const execFileAsync = promisify(execFile);

/** A throwaway self-signed ECDSA CA in `dir` (`ca.crt`, `ca.key`), made with the host's openssl. */
export async function selfSignedCa(dir: string, commonName: string): Promise<{ cert: string; key: string; pem: string }> {
  const cert = join(dir, 'ca.crt');
  const key = join(dir, 'ca.key');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const extensions = ['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'];
  await execFileAsync('openssl', ['req', '-x509', ...ec, '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${commonName}`, ...extensions]);
  return { cert, key, pem: await readFile(cert, 'utf8') };
}

export function need<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('backend contract: the backend factory did not run (see beforeAll)');
  return value;
}
