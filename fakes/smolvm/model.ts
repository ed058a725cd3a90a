/** The fake's world: machine records, their guest filesystems, images, guest programs. */
import { DNS_TIMEOUT_MS, fakeResolver, type HostResolver } from './dns.ts';
import { GuestFs, ROOT } from './guest-fs.ts';
import { alpineRootfs, guestArch } from './guest/rootfs.ts';
import { type Sink, StdinRef } from './guest/process.ts';
import { Userland, type GuestMachine } from './guest/userland.ts';
import type { HostFs } from './host-fs.ts';
import { ImageRegistry } from './images.ts';
import { planNetwork } from './network.ts';
import type { FakeSmolvmState, MachineRecord } from './records.ts';

/** One smolvm invocation's process surroundings. */
export interface Io {
  /** The smolvm process's environment (bare `-e KEY` reads it). */
  readonly env: Readonly<Record<string, string>>;
  readonly stdin: StdinSource;
  readonly stdout: Sink;
  readonly stderr: Sink;
  /** The smolvm process was killed (caller timeout/abort); the guest command dies with it. */
  readonly signal: AbortSignal;
}

/** smolvm reads stdin only for `exec -i` and the delete prompt, so reading is on demand. */
export interface StdinSource {
  all(): Promise<Uint8Array>;
  /** One line without its newline; `null` at EOF. */
  line(): Promise<string | null>;
}

export function bufferedStdin(bytes: Uint8Array): StdinSource {
  let rest = bytes;
  return {
    all: async () => {
      const data = rest;
      rest = new Uint8Array();
      return data;
    },
    line: async () => {
      if (rest.length === 0) return null;
      const nl = rest.indexOf(10);
      const line = rest.subarray(0, nl === -1 ? rest.length : nl);
      rest = nl === -1 ? new Uint8Array() : rest.subarray(nl + 1);
      return new TextDecoder().decode(line);
    },
  };
}

/** smolvm's own failure: printed as `Error: <display>`, exit 1. */
export class CommandFailure extends Error {
  readonly display: string;
  constructor(display: string) {
    super(display);
    this.display = display;
  }
}

export interface Machine {
  readonly record: MachineRecord;
  fs: GuestFs;
}

export interface ModelOptions {
  readonly hostFs: HostFs;
  readonly version: string;
  readonly generateShortId: () => string;
  /** Milliseconds since the epoch, for `created_at`. */
  readonly clock: () => number;
  readonly state?: FakeSmolvmState | undefined;
  /** `--allow-host` lookups; default `fakeResolver` (no DNS traffic). */
  readonly resolveHost?: HostResolver | undefined;
  /** The bound on each lookup; default smolvm's 10 s. */
  readonly dnsTimeoutMs?: number | undefined;
  /** Another machine database on the same host (./data-dir.ts): its registry and guest programs are shared, the machines are not. */
  readonly sameHostAs?: SmolvmModel | undefined;
}

export type GuestOutcome =
  | { readonly kind: 'exited'; readonly code: number }
  /** `errno`: what the agent's spawn failed with (bare machines print it). */
  | { readonly kind: 'not-found'; readonly errno: string }
  | { readonly kind: 'no-cwd'; readonly errno: string }
  | { readonly kind: 'timed-out' };

export interface GuestRun {
  readonly argv: readonly string[];
  readonly env: Record<string, string>;
  readonly cwd: string;
  readonly stdin: Uint8Array;
  readonly stdout: Sink;
  readonly stderr: Sink;
  readonly timeoutMs?: number | undefined;
  readonly signal: AbortSignal;
}

class GuestTimeout extends Error {}

/** `oci.rs::container_hostname`: the name when it is a lowercase DNS label, else `container`. */
export function containerHostname(name: string): string {
  return /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(name) ? name : 'container';
}

export class SmolvmModel {
  readonly machines = new Map<string, Machine>();
  readonly userland: Userland;
  readonly images: ImageRegistry;
  readonly hostFs: HostFs;
  readonly version: string;
  readonly generateShortId: () => string;
  readonly clock: () => number;
  readonly resolveHost: HostResolver;
  readonly dnsTimeoutMs: number;
  nextPid: number;
  /** The agent's per-boot upload counter in staging names. */
  uploadCounter = 0;

  constructor(options: ModelOptions) {
    this.userland = options.sameHostAs?.userland ?? new Userland();
    this.images = options.sameHostAs?.images ?? new ImageRegistry(() => this.userland.links());
    this.hostFs = options.hostFs;
    this.version = options.version;
    this.generateShortId = options.generateShortId;
    this.clock = options.clock;
    this.resolveHost = options.resolveHost ?? fakeResolver;
    this.dnsTimeoutMs = options.dnsTimeoutMs ?? DNS_TIMEOUT_MS;
    this.nextPid = options.state?.nextPid ?? 41000;
    for (const { record, files } of options.state?.machines ?? []) {
      const fs = GuestFs.import(files);
      fs.setDefaultUser(record.imageConfig?.user ?? ROOT);
      this.machines.set(record.name, { record: structuredClone(record), fs });
    }
  }

  bareRootfs(): GuestFs {
    return alpineRootfs({ links: this.userland.links(), bare: true });
  }

  export(): FakeSmolvmState {
    // Registry order, as smolvm's SQLite table scan returns rows: it orders the clones that
    // fork refusals list, so a save/load must keep it.
    return {
      version: 1,
      nextPid: this.nextPid,
      machines: [...this.machines.values()].map((m) => ({ record: structuredClone(m.record), files: m.fs.export() })),
    };
  }

  /** The machine as its programs see it: files, network, name and clock. */
  guest(machine: Machine): GuestMachine {
    const r = machine.record;
    const network = planNetwork({
      net: r.network,
      backend: r.netBackend,
      allowCidrs: r.allowCidrs,
      allowHosts: r.allowHosts,
      ports: r.ports.length,
    });
    // oci.rs `container_hostname`: the machine's name when it is a lowercase DNS label. A fork
    // clone keeps what its identity reset set (src/agent/fork.rs `build_rejuvenation_script`).
    const hostname = r.vmm?.hostname ?? containerHostname(r.name);
    return { name: r.name, fs: machine.fs, network, system: { hostname, arch: guestArch() }, clock: this.clock };
  }

  /**
   * Run one guest program as the machine's exec user, the way the agent does: no shell, argv as
   * given, optional timeout (the agent kills the process group), killed when `signal` fires.
   */
  async runGuest(machine: Machine, run: GuestRun): Promise<GuestOutcome> {
    const user = machine.fs.defaultUser;
    const guest = this.guest(machine);
    // The child's chdir comes before its execvp, so a bad workdir is the error either way.
    const cwdErrno = machine.fs.as(user, () => {
      try {
        return machine.fs.vol.statSync(run.cwd).isDirectory() ? undefined : 'ENOTDIR';
      } catch (error) {
        return (error as { code?: string }).code ?? 'ENOENT';
      }
    });
    if (!this.userland.resolve(guest, { ...run, user })) return { kind: 'not-found', errno: cwdErrno ?? this.userland.spawnErrno(guest, { ...run, user }) };
    if (cwdErrno) return { kind: 'no-cwd', errno: cwdErrno };

    const controller = new AbortController();
    const kill = (): void => controller.abort(run.signal.reason);
    run.signal.addEventListener('abort', kill, { once: true });
    if (run.signal.aborted) kill();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<'timed-out'>((resolve) => {
      if (run.timeoutMs === undefined) return;
      timer = setTimeout(() => {
        controller.abort(new GuestTimeout('exec timeout'));
        resolve('timed-out');
      }, run.timeoutMs);
    });
    const launched = this.userland.launch(guest, { ...run, stdin: new StdinRef(run.stdin), user, signal: controller.signal });
    launched.catch(() => {}); // a program killed by the timeout rejects after we stopped waiting
    try {
      const code = await Promise.race([launched, timedOut]);
      if (code === 'timed-out') return { kind: 'timed-out' };
      return code === null ? { kind: 'not-found', errno: this.userland.spawnErrno(guest, { ...run, user }) } : { kind: 'exited', code };
    } catch (error) {
      if (controller.signal.reason instanceof GuestTimeout) return { kind: 'timed-out' };
      throw error;
    } finally {
      clearTimeout(timer);
      run.signal.removeEventListener('abort', kill);
    }
  }
}
