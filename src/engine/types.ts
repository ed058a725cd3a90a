/**
 * The small boundary that provisioning is written against, once. smolvm and docker are two
 * adapters of it; each builds its own argv and sends it through the shared Transport.
 */

/** Every machine claude-bottle creates carries `claude-bottle=1`; `ls` and cleanups look for it. */
export const BOTTLE_LABEL = 'claude-bottle';

export interface GuestUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
}

export interface NetworkPolicy {
  /** No network at all when false and both lists are empty. */
  readonly enabled: boolean;
  readonly allowHosts: readonly string[];
  readonly allowCidrs: readonly string[];
  /** Reach the host's own services (the bundle's daemons) and nothing else. */
  readonly hostOnly?: boolean;
  /** The engine network to join, from `HostRoute.attach` (docker: a per-bottle `--internal` network). */
  readonly attach?: string;
}

/** Where a bottle's host-side daemons listen and how its guest dials them. */
export interface HostRoute {
  /** The one host address the daemons bind. */
  readonly bindHost: string;
  /** The name or address the guest dials to reach `bindHost`. */
  readonly guestHost: string;
  /** An engine network the machine must join (`NetworkPolicy.attach`). */
  readonly attach?: string;
  /** Frees what the route holds (a docker network); after the machine is gone. Idempotent. */
  release(): Promise<void>;
}

export interface MachineConfig {
  readonly name: string;
  readonly image: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly network: NetworkPolicy;
  /** Non-secret environment baked into the machine. Secret values go per exec, through `ExecOptions.env`. */
  readonly env?: Readonly<Record<string, string>>;
  readonly workdir?: string;
  /** The guest user commands run as, where the engine can choose (docker `--user`). */
  readonly user?: GuestUser;
  readonly cpus?: number;
  readonly memMib?: number;
}

export interface UploadOptions {
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
}

export interface ExecOptions {
  /** Values travel in the engine process's environment; argv carries only the names. */
  readonly env?: Readonly<Record<string, string>>;
  readonly workdir?: string;
  readonly stdin?: string | Uint8Array;
  readonly timeoutMs?: number;
  /** Run as this user where the engine supports it (docker `--user`); smolvm 1.9 execs as the image's user. */
  readonly user?: { readonly uid: number; readonly gid: number };
  /** Attach the caller's terminal. */
  readonly interactive?: boolean;
  readonly signal?: AbortSignal;
}

/** A guest command's own result: a non-zero exit is data, not an exception. */
export interface ExecResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly stdoutBytes: Uint8Array;
}

export type MachineState = 'created' | 'running' | 'stopped' | 'failed' | 'unreachable' | 'frozen' | 'unknown';

export interface MachineInfo {
  readonly name: string;
  readonly state: MachineState;
  readonly image: string | null;
  readonly labels: Readonly<Record<string, string>>;
}

export interface Engine {
  /** `smolvm`, `docker`, or a contributor's backend name. */
  readonly kind: string;
  create(config: MachineConfig): Promise<void>;
  /** Idempotent: starting a running machine succeeds. */
  start(name: string): Promise<void>;
  /** Idempotent: stopping a stopped machine succeeds. */
  stop(name: string): Promise<void>;
  /** Stops if needed, then deletes. Idempotent: removing an unknown machine succeeds. */
  remove(name: string): Promise<void>;
  /** Copy one host file to an absolute guest path, with an explicit mode and owner. */
  upload(name: string, hostPath: string, guestPath: string, options: UploadOptions): Promise<void>;
  /**
   * Optional: extract a ustar archive at the guest's `/` in one call, keeping every entry's mode
   * and owner (entry paths are relative to `/`). Engines that can (docker `cp -`) save the
   * upload-then-unpack round trips; provisioning falls back to `upload` + `exec` without it.
   */
  uploadTree?(name: string, archive: Uint8Array): Promise<void>;
  /**
   * Optional: set up how a machine-to-be reaches daemons on the host. `egress` says whether its
   * guest also talks to the outside (through the egress proxy on that route).
   */
  hostRoute?(machine: string, options: { readonly egress: boolean }): Promise<HostRoute>;
  /** Throws only when the engine itself fails; the guest's exit code is returned. */
  exec(name: string, argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** `undefined` when the machine does not exist. */
  status(name: string): Promise<MachineInfo | undefined>;
  /** Machines carrying all of these labels. */
  list(labels?: Readonly<Record<string, string>>): Promise<MachineInfo[]>;
}
