/**
 * The port provisioning and launch are written against, once. smolvm, docker and podman are
 * adapters of it; each builds its own argv and sends it through the shared Transport. What an
 * engine can do beyond the core verbs it declares in `capabilities`: shared code reads those,
 * never the engine's name.
 */

/** Every machine and network claude-bottle creates carries `claude-bottle=1`; `ls` and `prune` look for it. */
export const BOTTLE_LABEL = 'claude-bottle';
/**
 * The id of the launch that created a machine or network. It is the only proof a resource is
 * ours: rollback, `rm` and `prune` read it back before deleting anything.
 */
export const LAUNCH_LABEL = 'claude-bottle.launch';
/** The agent slug a machine was launched for. */
export const AGENT_LABEL = 'claude-bottle.agent';
/** On a fork (where the engine lets it have its own labels) and on a fork image: the golden's name. */
export const FORK_OF_LABEL = 'claude-bottle.fork-of';

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
  /** The engine network to join, from `HostRoute.network` (docker: a per-bottle `--internal` network). */
  readonly attach?: string;
}

/** Where a bottle's host-side daemons listen and how its guest dials them. */
export interface HostRoute {
  /** The one host address the daemons bind. */
  readonly bindHost: string;
  /** The name or address the guest dials to reach `bindHost`. */
  readonly guestHost: string;
  /**
   * An engine network the route created for this machine (it joins it through
   * `NetworkPolicy.attach`); it carries the launch's labels and goes with the machine.
   */
  readonly network?: string;
  /**
   * Opens exactly these host ports (the daemons') on `bindHost` to this route's guest; until it
   * is called, the guest reaches nothing on the host. Engines that filter (Docker: a per-launch
   * firewall chain) define it; launch calls it once the daemons listen, before the machine is
   * created. Absent: the engine filters nothing (smolvm: the guest reaches the host's loopback).
   * It may answer with the command that closes these ports again, for the launcher to leave
   * behind in a process that runs it if the launcher dies (its daemons die with it).
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: implementations answering nothing (`Promise<void>`) stay valid.
  allow?(ports: readonly number[]): Promise<RouteCloser | void>;
}

/**
 * The command that undoes exactly one `HostRoute.allow`: `argv` run with `stdin` on its standard
 * input. Safe to run at any time, more than once, after the route is gone too (it then fails, harmlessly).
 */
export interface RouteCloser {
  /** The program (found on PATH) and its arguments: never anything secret, an argv is public on the host. */
  readonly argv: readonly string[];
  /** What the program reads on its standard input (Docker: the `iptables-restore` script). */
  readonly stdin: string;
}

/** What an engine set up on the host for a route beyond its network (Docker: firewall rules), found by launch id. */
export interface RouteLeftover {
  readonly launchId: string;
  /** For messages: e.g. `iptables chain CB-…`. */
  readonly description: string;
}

export interface HostRouteOptions {
  /** Whether the guest also talks to the outside (through the egress proxy on that route). */
  readonly egress: boolean;
  /** Labels for whatever the route creates (`LAUNCH_LABEL` among them). */
  readonly labels: Readonly<Record<string, string>>;
}

export interface MachineConfig {
  readonly name: string;
  readonly image: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly network: NetworkPolicy;
  /** Non-secret environment baked into the machine. Secret values go per exec, through `ExecOptions.env`. */
  readonly env?: Readonly<Record<string, string>>;
  readonly workdir?: string;
  /** The guest user commands run as, where the engine can choose (`capabilities.execAsUser`). */
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
  /** Run as this user where the engine can (`capabilities.execAsUser`); elsewhere as the image's user. */
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
  /** What `remove` takes to delete exactly this machine (docker: the container id; smolvm: its name). */
  readonly id: string;
  readonly name: string;
  readonly state: MachineState;
  /** The image the engine reports, `null` when it reports none (a bare smolvm VM). */
  readonly image: string | null;
  readonly labels: Readonly<Record<string, string>>;
}

export interface NetworkInfo {
  /** What `removeNetwork` takes to delete exactly this network. */
  readonly id: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Machines attached to it right now. */
  readonly machines: number;
}

/** What a configuration asks of an engine, checked before anything is written or created. */
export interface MachineRequest {
  readonly image: string;
  /** The agent's environment: engines check they can carry every value. */
  readonly env: Readonly<Record<string, string>>;
  readonly user: GuestUser;
}

/** A configuration problem an engine found: `path` names the agent-file field. */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
}

/** One machine `Engine.fork` makes from a golden. */
export interface ForkClone {
  readonly name: string;
  /** The clone's labels, where the engine can set them (clones that inherit the golden's report theirs in `status`). */
  readonly labels: Readonly<Record<string, string>>;
  /** The clone's network (its own route's network, where routes make networks); engines whose clones inherit the golden's ignore it. */
  readonly network: NetworkPolicy;
  readonly user?: GuestUser;
}

/** What the clones of a fork depend on: an image committed from the golden, or the golden machine itself. */
export interface ForkBase {
  readonly kind: 'image' | 'machine';
  /** The image id, or the golden's name. */
  readonly id: string;
}

export interface ForkResult {
  readonly base: ForkBase;
  /**
   * Whether the golden still runs commands while it has clones. smolvm 1.9 freezes a fork base:
   * an exec into it would break it, so it waits, frozen, until its clones are gone.
   */
  readonly goldenUsable: boolean;
}

/** A fork base claude-bottle made (an image labelled `claude-bottle=1`), for `prune`. */
export interface ForkBaseInfo {
  readonly base: ForkBase;
  readonly labels: Readonly<Record<string, string>>;
  /** Machines made from it that still exist. */
  readonly machines: number;
}

/** What an engine can do beyond the core verbs; shared code decides by these, never by `kind`. */
export interface EngineCapabilities {
  /** `uploadTree`: extract an archive at `/` in one call, keeping every entry's mode and owner. */
  readonly treeUpload: boolean;
  /** `hostRoute` (and, when its routes create networks, `networkStatus`/`listNetworks`/`removeNetwork`). */
  readonly hostRoute: boolean;
  /** The engine enforces `NetworkPolicy.allowHosts`/`allowCidrs` itself; without it egress needs the proxy. */
  readonly egressAllowList: boolean;
  /** `ExecOptions.user` is honoured (otherwise commands run as the image's user). */
  readonly execAsUser: boolean;
  /**
   * `fork`: clones of a machine's filesystem at the engine's cost of a fork (docker/podman: one
   * commit, then a create per clone; smolvm: its own fork verb), with no upload or provisioning
   * repeated. Without it, `Bottle.fork` launches each copy anew (and says so).
   */
  readonly fork?: boolean;
}

export interface Engine {
  /** `smolvm`, `docker`, `podman`, or a contributor's backend name: for messages only. */
  readonly kind: string;
  readonly capabilities: EngineCapabilities;
  /** Fails when the name is taken (`EngineCommandError` kind `already-exists`). */
  create(config: MachineConfig): Promise<void>;
  /** Idempotent: starting a running machine succeeds. */
  start(name: string): Promise<void>;
  /** Idempotent: stopping a stopped machine succeeds. */
  stop(name: string): Promise<void>;
  /**
   * Stops if needed, then deletes, by name or `MachineInfo.id`. Idempotent: removing an unknown
   * machine succeeds. It does not check ownership: callers use `removeOwnedMachine`.
   */
  remove(nameOrId: string): Promise<void>;
  /** Copy one host file to an absolute guest path, with an explicit mode and owner. */
  upload(name: string, hostPath: string, guestPath: string, options: UploadOptions): Promise<void>;
  /** `capabilities.treeUpload`: extract a ustar archive at the guest's `/` (entry paths relative to `/`). */
  uploadTree?(name: string, archive: Uint8Array): Promise<void>;
  /** `capabilities.hostRoute`: set up how a machine-to-be reaches daemons on the host. */
  hostRoute?(machine: string, options: HostRouteOptions): Promise<HostRoute>;
  /** `undefined` when the network does not exist. */
  networkStatus?(name: string): Promise<NetworkInfo | undefined>;
  /** Networks carrying all of these labels. */
  listNetworks?(labels: Readonly<Record<string, string>>): Promise<NetworkInfo[]>;
  /** Deletes a network by name or id, with whatever the engine set up for it. Idempotent. No ownership check. */
  removeNetwork?(nameOrId: string): Promise<void>;
  /**
   * What routes left on the host outside any network (Docker: firewall chains), by launch id:
   * for `prune`, which removes those whose launch is gone with `removeRouteLeftovers`.
   */
  listRouteLeftovers?(): Promise<RouteLeftover[]>;
  /** Removes whatever `listRouteLeftovers` reports for this launch. Idempotent. */
  removeRouteLeftovers?(launchId: string): Promise<void>;
  /**
   * `capabilities.fork`: make each clone from `golden`'s filesystem as it is now, created and
   * started. Each clone is an independent copy: a write in one is seen in no other, nor in the
   * golden. `labels` go on what the fork makes besides the clones (an image). A failed fork
   * throws and leaves no clone and no fork base, and the golden running, or `frozen` (an engine
   * that freezes its fork bases: a stop and a start make it run commands again).
   */
  fork?(golden: string, clones: readonly ForkClone[], options: { readonly labels: Readonly<Record<string, string>> }): Promise<ForkResult>;
  /**
   * Deletes a fork base no machine depends on any more (docker/podman: the committed image, once
   * its last clone is gone), after reading back its `claude-bottle=1` label. A machine base is the
   * golden, which goes as a bottle: `absent` for it.
   */
  removeForkBase?(base: ForkBase): Promise<'removed' | 'in-use' | 'absent' | 'foreign'>;
  /** Fork bases carrying all of these labels (for `prune`). */
  listForkBases?(labels: Readonly<Record<string, string>>): Promise<ForkBaseInfo[]>;
  /** Problems this engine has with a configuration, found before anything is created; none by default. */
  checkConfig?(request: MachineRequest): readonly ConfigIssue[];
  /**
   * Throws only when the engine itself fails (`EngineCommandError`); the guest's exit code is
   * returned. A command that does not exist in the guest is exit 127 with the engine's message on
   * stderr, as a shell reports it, on every engine (a file it cannot execute: 126, where the
   * engine tells the two apart).
   */
  exec(name: string, argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** `undefined` when the machine does not exist. */
  status(nameOrId: string): Promise<MachineInfo | undefined>;
  /** Machines carrying all of these labels. */
  list(labels?: Readonly<Record<string, string>>): Promise<MachineInfo[]>;
}
