/**
 * The in-memory fake as a `Transport`: every call is recorded, faults can be injected, and
 * `timeoutMs`/`signal` behave like a killed child process (exit -1, no further output).
 */
import { randomBytes } from 'node:crypto';
import { promises as nodeFs } from 'node:fs';
import type { Volume } from 'memfs';
import type { CommandResult, RunOptions, Transport } from '../../src/transport/types.ts';
import { ROOT, type GuestUser } from './guest-fs.ts';
import { Sink, toBytes, toText, type GuestCommandHandler } from './guest/process.ts';
import { runSmolvm } from './dispatch.ts';
import type { HostResolver } from './dns.ts';
import type { HostFs } from './host-fs.ts';
import type { FakeImage } from './images.ts';
import { bufferedStdin, SmolvmModel, type Machine, type ModelOptions } from './model.ts';
import { smolvmDataDir } from './data-dir.ts';
import { resolvedState } from './fork-state.ts';
import type { FakeSmolvmState, ResolvedState } from './records.ts';

export interface FakeSmolvmOptions {
  /** Where `cp` reads uploads and writes downloads. Default: the real `node:fs/promises`. */
  readonly hostFs?: HostFs;
  /**
   * The environment smolvm itself runs with; each call's `RunOptions.env` is layered on top,
   * as for a real child process. Bare `-e KEY` reads the result, and smolvm finds its machine
   * database from it: a call whose HOME (XDG_DATA_HOME, SMOLVM_DATA_DIR) differs sees another,
   * empty at first (./data-dir.ts). Default: empty, for hermetic tests.
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** `smolvm --version` prints `smolvm <version>`. Default `1.9.2`, the behaviour modelled. */
  readonly version?: string;
  /** The 8-hex-digit id in auto-generated `vm-<shortid>` names. Default: random. */
  readonly generateShortId?: () => string;
  /** Milliseconds since the epoch, for `created_at`. Default `Date.now`. */
  readonly clock?: () => number;
  /** A snapshot from `exportState()` to start from. */
  readonly state?: FakeSmolvmState;
  /**
   * Resolves `--allow-host` names (at create, where a failure refuses the machine, and again at
   * start). Default `fakeResolver`: hermetic, no DNS traffic; `systemResolver` asks the host.
   */
  readonly resolveHost?: HostResolver;
  /** The bound on each lookup, after which smolvm gives up. Default 10 s, as smolvm. */
  readonly dnsTimeoutMs?: number;
}

export interface CallRecord {
  readonly argv: readonly string[];
  /** The bytes offered on stdin (smolvm may not have read them, e.g. `exec` without `-i`). */
  readonly stdinBytes: Uint8Array;
  /** Names of the per-call `RunOptions.env` entries; values are never recorded. */
  readonly envKeys: readonly string[];
  readonly result: CommandResult;
  readonly faulted: boolean;
  /** With `inheritStdio` the caller's terminal got the output; it is kept here for assertions. */
  readonly terminal?: { readonly stdout: string; readonly stderr: string };
}

export type Fault = { readonly exitCode: number; readonly stderr: string; readonly stdout?: string } | { readonly timeout: true };

/** A 1-based call number counted from the `injectFault` call (1 = the next call), or a predicate on argv. */
export type FaultMatch = number | ((argv: readonly string[]) => boolean);

export interface MachineView {
  readonly name: string;
  /** As `machine ls` shows it: `frozen` for a fork base, `unreachable` for a paused VMM. */
  readonly state: ResolvedState;
  readonly pid: number | null;
  readonly image: string | null;
  readonly labels: Readonly<Record<string, string>>;
  /** The machine's persisted env (`create -e`), not per-exec values. */
  readonly env: Readonly<Record<string, string>>;
  readonly workdir: string | null;
  readonly network: boolean;
  readonly allowHosts: readonly string[];
  readonly allowCidrs: readonly string[];
  readonly ports: ReadonlyArray<{ readonly host: number; readonly guest: number }>;
  readonly mounts: ReadonlyArray<{ readonly host: string; readonly guest: string; readonly readOnly: boolean }>;
  readonly cpus: number;
  readonly memMib: number;
  readonly init: readonly string[];
  readonly command: readonly string[];
  /** Who `exec` runs as: root on a bare VM, the image's USER otherwise. */
  readonly user: GuestUser;
  readonly createdAt: number;
  /** The fork base a clone was forked from (`machine fork --golden`). */
  readonly golden: string | null;
  /** A held pool slot not yet released with `machine fork-release`. */
  readonly forkpointHeld: boolean;
}

interface PendingFault {
  readonly match: (callNumber: number, argv: readonly string[]) => boolean;
  readonly fault: Fault;
  remaining: number;
}

export class FakeSmolvm implements Transport {
  /** The machine database at the fake's own environment: what the inspection methods show. */
  readonly #model: SmolvmModel;
  readonly #dataDir: string;
  /** Databases other calls' environments pointed smolvm at, by data dir. */
  readonly #elsewhere = new Map<string, SmolvmModel>();
  readonly #modelOptions: ModelOptions;
  readonly #env: Readonly<Record<string, string>>;
  readonly #calls: CallRecord[] = [];
  readonly #faults: PendingFault[] = [];
  #started = 0;

  constructor(options: FakeSmolvmOptions = {}) {
    this.#env = definedOnly(options.env ?? {});
    this.#dataDir = smolvmDataDir(this.#env);
    this.#modelOptions = {
      hostFs: options.hostFs ?? (nodeFs as HostFs),
      version: options.version ?? '1.9.2',
      generateShortId: options.generateShortId ?? (() => randomBytes(4).toString('hex')),
      clock: options.clock ?? Date.now,
      resolveHost: options.resolveHost,
      dnsTimeoutMs: options.dnsTimeoutMs,
    };
    this.#model = new SmolvmModel({ ...this.#modelOptions, state: options.state });
  }

  /** The database smolvm opens with this environment. */
  #modelAt(env: Readonly<Record<string, string>>): SmolvmModel {
    const dir = smolvmDataDir(env);
    if (dir === this.#dataDir) return this.#model;
    const known = this.#elsewhere.get(dir);
    if (known) return known;
    const model = new SmolvmModel({ ...this.#modelOptions, sameHostAs: this.#model });
    this.#elsewhere.set(dir, model);
    return model;
  }

  get calls(): readonly CallRecord[] {
    return this.#calls;
  }

  /** Calls whose arguments after the binary start with `prefix` (`vm` counts as `machine`). */
  callsMatching(prefix: readonly string[]): CallRecord[] {
    const canonical = (a: string, i: number): string => (i === 0 && a === 'vm' ? 'machine' : a);
    return this.#calls.filter((c) => prefix.every((p, i) => c.argv[i + 1] !== undefined && canonical(c.argv[i + 1] as string, i) === canonical(p, i)));
  }

  /** Fail matching calls without side effects; `times` (default 1) consecutive calls or matches. */
  injectFault(match: FaultMatch, fault: Fault, options: { times?: number } = {}): void {
    const times = options.times ?? 1;
    if (typeof match === 'number') {
      if (!Number.isInteger(match) || match < 1) throw new RangeError('injectFault: call number is 1-based');
      const first = this.#started + match;
      this.#faults.push({ match: (n) => n >= first && n < first + times, fault, remaining: times });
    } else {
      this.#faults.push({ match: (_n, argv) => match(argv), fault, remaining: times });
    }
  }

  registerCommand(name: string, handler: GuestCommandHandler): void {
    this.#model.userland.register(name, handler);
  }

  registerImage(ref: string, image: FakeImage): void {
    this.#model.images.register(ref, image);
  }

  machine(name: string): MachineView | undefined {
    const m = this.#model.machines.get(name);
    if (!m) return undefined;
    const r = m.record;
    return structuredClone({
      name: r.name,
      state: resolvedState(this.#model, r),
      pid: r.pid,
      image: r.image,
      labels: r.labels,
      env: Object.fromEntries(r.env),
      workdir: r.workdir,
      network: r.network,
      allowHosts: r.allowHosts,
      allowCidrs: r.allowCidrs,
      ports: r.ports,
      mounts: r.mounts,
      cpus: r.cpus,
      memMib: r.mem,
      init: r.init,
      command: [...r.entrypoint, ...r.cmd],
      user: m.fs.defaultUser,
      createdAt: r.createdAt,
      golden: r.golden ?? null,
      forkpointHeld: r.forkpointHeld === true,
    });
  }

  machineNames(): string[] {
    return [...this.#model.machines.keys()].sort();
  }

  /**
   * The machine's guest filesystem (memfs). It acts as the machine's exec user, so permissions
   * apply as they would to a guest command. An image machine gets a new volume at its first start
   * (the pulled rootfs): fetch it after starting.
   */
  guestFs(name: string): Volume {
    return this.#machineOrThrow(name).fs.vol;
  }

  /** Run synchronous fs work on the guest as root, e.g. to seed root-only files on an image machine. */
  asGuestRoot<T>(name: string, work: (fs: Volume) => T): T {
    const m = this.#machineOrThrow(name);
    return m.fs.as(ROOT, () => work(m.fs.vol));
  }

  #machineOrThrow(name: string): Machine {
    const m = this.#model.machines.get(name);
    if (!m) throw new Error(`fake smolvm: no machine named '${name}'`);
    return m;
  }

  exportState(): FakeSmolvmState {
    return this.#model.export();
  }

  async run(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    const startedAt = performance.now();
    const program = argv[0] ?? '';
    if (program !== 'smolvm' && !program.endsWith('/smolvm')) {
      throw new Error(`fake smolvm cannot run '${program}'`);
    }
    const callNumber = ++this.#started;
    const stdinBytes = toBytes(options.stdin ?? new Uint8Array());
    const envKeys = Object.keys(options.env ?? {});
    const finish = (outcome: { exitCode: number; stdout: Uint8Array; stderr: string; timedOut: boolean }, faulted: boolean): CommandResult => {
      const hidden = options.inheritStdio === true;
      const result: CommandResult = {
        argv: [...argv],
        exitCode: outcome.exitCode,
        stdout: hidden ? '' : toText(outcome.stdout),
        stderr: hidden ? '' : outcome.stderr,
        stdoutBytes: hidden ? new Uint8Array() : outcome.stdout,
        durationMs: performance.now() - startedAt,
        timedOut: outcome.timedOut,
      };
      this.#calls.push({
        argv: result.argv,
        stdinBytes,
        envKeys,
        result,
        faulted,
        ...(hidden ? { terminal: { stdout: toText(outcome.stdout), stderr: outcome.stderr } } : {}),
      });
      return result;
    };

    const fault = this.#takeFault(callNumber, argv);
    if (fault) {
      return 'timeout' in fault
        ? finish({ exitCode: -1, stdout: new Uint8Array(), stderr: '', timedOut: true }, true)
        : finish({ exitCode: fault.exitCode, stdout: toBytes(fault.stdout ?? ''), stderr: fault.stderr, timedOut: false }, true);
    }

    // An already-aborted call never starts the process, so it has no side effects.
    if (options.signal?.aborted) return finish({ exitCode: -1, stdout: new Uint8Array(), stderr: '', timedOut: false }, false);
    const stdout = new Sink();
    const stderr = new Sink();
    const kill = new AbortController();
    const env = { ...this.#env, ...options.env };
    const work = runSmolvm(this.#modelAt(env), argv.slice(1), {
      env,
      stdin: bufferedStdin(stdinBytes),
      stdout,
      stderr,
      signal: kill.signal,
    });
    // A killed smolvm leaves its guest command to die; its late rejection is not the caller's.
    work.catch(() => {});

    let timer: ReturnType<typeof setTimeout> | undefined;
    let onAbort: (() => void) | undefined;
    const killed = new Promise<'timeout' | 'abort'>((resolve) => {
      if (options.timeoutMs !== undefined) timer = setTimeout(() => resolve('timeout'), options.timeoutMs);
      if (options.signal) {
        onAbort = () => resolve('abort');
        if (options.signal.aborted) onAbort();
        else options.signal.addEventListener('abort', onAbort, { once: true });
      }
    });
    try {
      const outcome = await Promise.race([work, killed]);
      if (typeof outcome === 'number') {
        return finish({ exitCode: outcome, stdout: stdout.bytes(), stderr: stderr.text(), timedOut: false }, false);
      }
      kill.abort(new Error(`smolvm killed (${outcome})`));
      return finish({ exitCode: -1, stdout: stdout.bytes(), stderr: stderr.text(), timedOut: outcome === 'timeout' }, false);
    } finally {
      clearTimeout(timer);
      if (onAbort) options.signal?.removeEventListener('abort', onAbort);
    }
  }

  #takeFault(callNumber: number, argv: readonly string[]): Fault | undefined {
    const index = this.#faults.findIndex((f) => f.remaining > 0 && f.match(callNumber, argv));
    const pending = this.#faults[index];
    if (!pending) return undefined;
    pending.remaining--;
    if (pending.remaining === 0) this.#faults.splice(index, 1);
    return pending.fault;
  }
}

export function createFakeSmolvm(options: FakeSmolvmOptions = {}): FakeSmolvm {
  return new FakeSmolvm(options);
}

function definedOnly(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}
