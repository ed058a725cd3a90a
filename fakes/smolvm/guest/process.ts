/** What a guest program sees: argv, env, cwd, its user, the machine's fs, and byte streams. */
import type { Volume } from 'memfs';
import type { GuestFs, GuestUser } from '../guest-fs.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function toBytes(data: string | Uint8Array): Uint8Array {
  return typeof data === 'string' ? encoder.encode(data) : data;
}

export function toText(data: Uint8Array): string {
  return decoder.decode(data);
}

/** An output stream: keeps bytes in order, counts everything even past `keepAtMost`. */
export class Sink {
  readonly #chunks: Uint8Array[] = [];
  #kept = 0;
  #total = 0;
  readonly #keepAtMost: number;

  constructor(keepAtMost = Number.POSITIVE_INFINITY) {
    this.#keepAtMost = keepAtMost;
  }

  write(data: string | Uint8Array): void {
    const bytes = toBytes(data);
    this.#total += bytes.length;
    const room = this.#keepAtMost - this.#kept;
    if (room <= 0 || bytes.length === 0) return;
    const kept = bytes.length <= room ? bytes : bytes.subarray(0, room);
    this.#chunks.push(kept.slice());
    this.#kept += kept.length;
  }

  get length(): number {
    return this.#total;
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.#kept);
    let offset = 0;
    for (const c of this.#chunks) {
      out.set(c, offset);
      offset += c.length;
    }
    return out;
  }

  text(): string {
    return toText(this.bytes());
  }
}

/**
 * A stdin shared by the programs a shell runs: `sh -c 'mkdir -p d && tar -x -C d'` must hand
 * the archive to `tar`, not to `mkdir`, so only programs that read it consume it; `read` takes
 * one line and leaves the rest for the next reader.
 */
export class StdinRef {
  #data: Uint8Array;

  constructor(data: Uint8Array) {
    this.#data = data;
  }

  /** Everything not yet read. */
  take(): Uint8Array {
    const data = this.#data;
    this.#data = new Uint8Array();
    return data;
  }

  /** One line without its newline, or `null` at end of input; `eof` tells whether it ended unterminated. */
  line(): { text: string; eof: boolean } | null {
    if (this.#data.length === 0) return null;
    const nl = this.#data.indexOf(10);
    const end = nl === -1 ? this.#data.length : nl;
    const text = toText(this.#data.subarray(0, end));
    this.#data = nl === -1 ? new Uint8Array() : this.#data.subarray(nl + 1);
    return { text, eof: nl === -1 };
  }
}

/** A running guest program. Built-ins implement `GuestProgram` against it. */
/**
 * `none`: no network (smolvm's default). `tsi`: `--net`, guest sockets are the host's (libkrun
 * TSI), so 127.0.0.1 is the host's loopback. `virtio-net`: allow-lists or `--net-backend
 * virtio-net`; the host answers as `host.smolvm.internal` (and the gateway 100.96.0.1). The fake
 * only ever connects to the host's own loopback; any other destination is refused.
 */
export type GuestNetwork = 'none' | 'tsi' | 'virtio-net';

/** What `uname` and `hostname` report. */
export interface GuestSystem {
  readonly hostname: string;
  /** `uname -m`: the guest matches the host's architecture (§7). */
  readonly arch: 'aarch64' | 'x86_64';
}

export interface GuestProcess {
  readonly argv: readonly string[];
  readonly env: Record<string, string>;
  cwd: string;
  readonly user: GuestUser;
  readonly fs: GuestFs;
  /** Reading it drains the shared stdin (see `StdinRef`). */
  readonly stdin: Uint8Array;
  /** The undrained stdin, for handing on to a child without reading it. */
  readonly stdinRef: StdinRef;
  readonly stdout: Sink;
  readonly stderr: Sink;
  readonly signal: AbortSignal;
  readonly machineName: string;
  readonly network: GuestNetwork;
  readonly system: GuestSystem;
  /** The guest clock, milliseconds since the epoch. */
  clock(): number;
  /** Run another program by argv[0]; `null` when there is no such program. */
  spawn(child: ChildSpec): Promise<number | null>;
  /** Where a program name resolves on `path` (default: this process's PATH), first match. */
  which(name: string, path?: string): string | undefined;
  /** Every match, in PATH order (`which -a`). */
  whichAll(name: string, path?: string): string[];
}

export interface ChildSpec {
  readonly argv: readonly string[];
  readonly env: Record<string, string>;
  readonly cwd: string;
  readonly stdin: StdinRef;
  readonly stdout: Sink;
  readonly stderr: Sink;
}

export type GuestProgram = (p: GuestProcess) => number | Promise<number>;

/** The context a test's `registerCommand` handler receives. */
export interface GuestCommandContext {
  readonly argv: readonly string[];
  readonly stdin: Uint8Array;
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
  /** The machine's memfs volume; sync and `promises` APIs both work, acting as `user`. */
  readonly fs: Volume;
  readonly machineName: string;
  readonly user: GuestUser;
  /** Aborted when `exec --timeout` or the caller's timeout/abort fires. */
  readonly signal: AbortSignal;
}

export interface GuestCommandResult {
  readonly exitCode: number;
  readonly stdout?: string | Uint8Array;
  readonly stderr?: string | Uint8Array;
}

export type GuestCommandHandler = (context: GuestCommandContext) => GuestCommandResult | Promise<GuestCommandResult>;

export function handlerProgram(handler: GuestCommandHandler): GuestProgram {
  return async (p) => {
    const result = await handler({
      argv: p.argv,
      stdin: p.stdin,
      env: { ...p.env },
      cwd: p.cwd,
      fs: p.fs.vol,
      machineName: p.machineName,
      user: p.user,
      signal: p.signal,
    });
    if (result.stdout !== undefined) p.stdout.write(result.stdout);
    if (result.stderr !== undefined) p.stderr.write(result.stderr);
    return result.exitCode;
  };
}

/** Resolves after `ms`, or rejects with `signal.reason` when aborted first. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
