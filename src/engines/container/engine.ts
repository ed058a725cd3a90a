/**
 * The Engine adapter every container CLI shares (docker, podman): a machine is a container kept
 * alive by a trap-and-sleep shell, and every call is one CLI command through the Transport.
 * What differs between CLIs comes in a `ContainerCli`; what a host route needs beyond the
 * network (podman's bridge, a firewall) comes in `RouteHook`s.
 */
import { readFile, stat } from 'node:fs/promises';
import { ConfigError } from '../../errors.ts';
import { withPrivateTempFile } from '../../host/fs.ts';
import type { CommandResult, RunOptions, Transport } from '../../transport/types.ts';
import type {
  ConfigIssue,
  Engine,
  EngineCapabilities,
  ExecOptions,
  ExecResult,
  HostRoute,
  HostRouteOptions,
  MachineConfig,
  MachineInfo,
  ForkBase,
  ForkBaseInfo,
  ForkClone,
  ForkResult,
  MachineRequest,
  RouteLeftover,
  UploadOptions,
} from '../../engine/types.ts';
import { checkGuestPath, checkImage, type ContainerArgv, containerArgv } from './argv.ts';
import { type ContainerCli, type ContainerNetwork, type ParsedNetwork, parseContainers } from './cli.ts';
import { envValueProblem, planEnv } from './env.ts';
import { type HostFirewall, IptablesFirewall } from './firewall.ts';
import { type ForkHost, forkContainer, listImageBases, removeImageBase } from './fork-ops.ts';
import { type RouteHook, RouteNetworks } from './routes.ts';

export type { RouteHook };

/** The CLI's environment: fixed, or worked out once on the first call (podman's containers.conf). */
export type EnvSource = Readonly<Record<string, string>> | (() => Promise<Readonly<Record<string, string>>>);

export interface ContainerEngineOptions {
  readonly transport: Transport;
  /** Layered onto every CLI call's environment, e.g. `DOCKER_HOST`, `CONTAINER_HOST`. */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * The network a machine with network enabled joins (e.g. `host`, or an `--internal` network
   * you created); default the CLI's default bridge. Machines without network get none.
   */
  readonly network?: string;
  /**
   * The per-bottle host firewall of host routes (./firewall.ts); default iptables through the
   * transport. `'off'` gives routes no rules at all: the guest then reaches every host service on
   * its gateway address and other containers reach its daemons (which still ask for the
   * bottle's credential). Unsafe; for hosts where root and iptables cannot be had.
   */
  readonly firewall?: HostFirewall | 'off';
}

export class ContainerEngine implements Engine {
  readonly kind: string;
  readonly capabilities: EngineCapabilities;
  protected readonly cli: ContainerCli;
  protected readonly argv: ContainerArgv;
  protected readonly transport: Transport;
  /** Run in order on a route's network; subclasses add theirs. */
  protected readonly routeHooks: RouteHook[] = [];
  readonly #env: EnvSource;
  readonly #network: string | undefined;
  readonly #routes: RouteNetworks;

  constructor(cli: ContainerCli, capabilities: EngineCapabilities, options: Omit<ContainerEngineOptions, 'env'> & { readonly env?: EnvSource }) {
    this.cli = cli;
    this.kind = cli.kind;
    this.argv = containerArgv(cli);
    this.transport = options.transport;
    this.capabilities = capabilities;
    this.#env = options.env ?? {};
    this.#network = options.network;
    const firewall = options.firewall === 'off' ? undefined : (options.firewall ?? new IptablesFirewall(options.transport, cli.kind));
    const host = {
      kind: this.kind,
      cli,
      argv: this.argv,
      hooks: this.routeHooks,
      run: (argv: readonly string[]) => this.run(argv),
      ok: (argv: readonly string[]) => this.ok(argv),
    };
    this.#routes = new RouteNetworks(host, firewall);
  }

  async create(config: MachineConfig): Promise<void> {
    const { network } = config;
    // No allow-lists here: egress goes through the proxy on the host route. Any other wish is the default bridge.
    const wantsNetwork = network.enabled || network.allowHosts.length > 0 || network.allowCidrs.length > 0;
    const env = planEnv(this.cli.isCliEnvName, this.cli.program, config.env);
    await withEnvFile(env.envFile, async (envFile) => {
      const argv = this.argv.create({
        name: config.name,
        image: config.image,
        labels: config.labels,
        network:
          network.attach !== undefined ? { name: network.attach } : !wantsNetwork ? 'none' : this.#network !== undefined ? { name: this.#network } : 'default',
        // On a route's network the host firewall decides what the guest reaches, and it has IPv4 rules only.
        noIpv6: network.attach !== undefined,
        envKeys: env.keys,
        ...(envFile !== undefined ? { envFile } : {}),
        ...(config.user ? { user: { uid: config.user.uid, gid: config.user.gid } } : {}),
        ...(config.workdir !== undefined ? { workdir: config.workdir } : {}),
        ...(config.cpus !== undefined ? { cpus: config.cpus } : {}),
        ...(config.memMib !== undefined ? { memMib: config.memMib } : {}),
      });
      const result = await this.run(argv, { env: env.cliEnv });
      if (result.exitCode === 0) return;
      const error = this.cli.error(result);
      if (error.kind !== 'image-missing') throw error;
      throw this.cli.error(result, {
        reason: `image ${config.image} is not present locally, and claude-bottle never pulls images. Make it local first: ${this.cli.loadHint(config.image)}`,
      });
    });
  }

  /**
   * A fresh `--internal` network per launch, named after the launch id so it never meets a name
   * someone else chose: the guest reaches the host's gateway address, where the daemons listen,
   * and nothing beyond (egress goes through the proxy there). A failure after the network exists
   * removes it, with whatever the hooks set up.
   */
  hostRoute(machine: string, options: HostRouteOptions): Promise<HostRoute> {
    return this.#routes.open(machine, options, (name, labels) => this.createRouteNetwork(name, labels));
  }

  /**
   * Creates the route's `--internal` network and reads it back (`readCreated`); a failure after
   * `create` removes it again. docker prints the new network's id, podman its name: either finds it.
   */
  protected async createRouteNetwork(name: string, labels: Readonly<Record<string, string>>): Promise<ParsedNetwork> {
    return this.readCreated((await this.ok(this.argv.networkCreate(name, labels))).stdout.trim() || name);
  }

  /** A network this engine just created, read back; removed when that fails (nothing else is set up yet). */
  protected readCreated(nameOrId: string): Promise<ParsedNetwork> {
    return this.#routes.readCreated(nameOrId);
  }

  networkStatus(nameOrId: string): Promise<ContainerNetwork | undefined> {
    return this.#routes.status(nameOrId);
  }

  listNetworks(labels: Readonly<Record<string, string>>): Promise<ContainerNetwork[]> {
    return this.#routes.list(labels);
  }

  /** The network first (a network still in use keeps its rules), then what its hooks and firewall set up. */
  removeNetwork(nameOrId: string): Promise<void> {
    return this.#routes.remove(nameOrId);
  }

  /** Firewall chains on this host, by launch id (also those whose network is gone). */
  listRouteLeftovers(): Promise<RouteLeftover[]> {
    return this.#routes.leftovers();
  }

  removeRouteLeftovers(launchId: string): Promise<void> {
    return this.#routes.removeLeftovers(launchId);
  }

  fork(golden: string, clones: readonly ForkClone[], options: { readonly labels: Readonly<Record<string, string>> }): Promise<ForkResult> {
    return forkContainer(this.#forkHost(), golden, clones, options);
  }

  removeForkBase(base: ForkBase): Promise<'removed' | 'in-use' | 'absent' | 'foreign'> {
    return removeImageBase(this.#forkHost(), base);
  }

  listForkBases(labels: Readonly<Record<string, string>>): Promise<ForkBaseInfo[]> {
    return listImageBases(this.#forkHost(), labels);
  }

  #forkHost(): ForkHost {
    return { cli: this.cli, machines: this, run: (argv) => this.run(argv), ok: (argv) => this.ok(argv) };
  }

  /** What the CLI cannot take: an image that reads as a flag, env values its env-file and CLI cannot carry. */
  checkConfig(request: MachineRequest): ConfigIssue[] {
    const issues: ConfigIssue[] = [];
    try {
      checkImage(request.image);
    } catch {
      issues.push({
        path: 'image',
        message: `${JSON.stringify(request.image)} is not an image reference ${this.kind} takes (empty, starts with "-" or has spaces)`,
      });
    }
    for (const [key, value] of Object.entries(request.env)) {
      const problem = envValueProblem(this.cli.isCliEnvName, this.cli.program, key, value);
      if (problem) issues.push({ path: `env.${key}`, message: `${this.kind} cannot carry this value: it ${problem}` });
    }
    return issues;
  }

  async start(name: string): Promise<void> {
    await this.ok(this.argv.start(name));
  }

  async stop(name: string): Promise<void> {
    await this.ok(this.argv.stop(name));
  }

  async remove(nameOrId: string): Promise<void> {
    const result = await this.run(this.argv.remove(nameOrId));
    if (result.exitCode === 0) return;
    const error = this.cli.error(result);
    if (error.kind !== 'not-found') throw error;
  }

  /**
   * `cp` of a host file would keep the host's mode and owner, so the file travels as a one-entry
   * tar with them set. Missing parents are created root-owned 0755 (as smolvm's cp does);
   * existing ones are never in the tar: a directory entry would reset their mode and owner.
   */
  async upload(name: string, hostPath: string, guestPath: string, options: UploadOptions): Promise<void> {
    checkGuestPath(guestPath);
    checkUploadOptions(options);
    // tar (and zlib under it) loads on the first upload: exec never needs it.
    const [data, hostStat, { packTar }] = await Promise.all([readFile(hostPath), stat(hostPath), import('../../archive/tar.ts')]);
    await this.uploadTree(
      name,
      packTar([
        { path: guestPath.slice(1), type: 'file', mode: options.mode, uid: options.uid, gid: options.gid, data, mtime: Math.floor(hostStat.mtimeMs / 1000) },
      ]),
    );
  }

  async uploadTree(name: string, archive: Uint8Array): Promise<void> {
    const result = await this.run(this.argv.copyIn(name), { stdin: archive });
    if (result.exitCode === 0) return;
    // For an unknown container `docker cp` says only that the destination "must be a directory".
    if ((await this.status(name)) === undefined) throw this.cli.error(result, { kind: 'not-found', reason: `no such container: ${name}` });
    throw this.cli.error(result);
  }

  async exec(name: string, argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const env = planEnv(this.cli.isCliEnvName, this.cli.program, options.env);
    const interactive = options.interactive === true;
    return withEnvFile(env.envFile, async (envFile) => {
      const execArgv = this.argv.exec(name, argv, {
        envKeys: env.keys,
        ...(envFile !== undefined ? { envFile } : {}),
        ...(options.workdir !== undefined ? { workdir: options.workdir } : {}),
        ...(options.user ? { user: options.user } : {}),
        stdin: options.stdin !== undefined || interactive,
        tty: interactive && process.stdin.isTTY === true,
      });
      // A timeout or abort ends the CLI; the guest process itself is not signalled.
      const result = await this.run(execArgv, {
        env: env.cliEnv,
        ...(options.stdin !== undefined && !interactive ? { stdin: options.stdin } : {}),
        ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
        ...(interactive ? { inheritStdio: true } : {}),
      });
      if (this.cli.isExecFailure(result)) throw this.cli.error(result);
      // A guest binary that does not exist is exit 127, as a shell reports it, on every engine.
      const missing = this.cli.missingBinary(result);
      if (missing !== undefined) return { exitCode: 127, stdout: '', stderr: `${missing}\n`, stdoutBytes: new Uint8Array() };
      return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr, stdoutBytes: result.stdoutBytes };
    });
  }

  async status(nameOrId: string): Promise<MachineInfo | undefined> {
    const result = await this.run(this.argv.inspect([nameOrId]));
    if (result.exitCode !== 0) {
      const error = this.cli.error(result);
      if (error.kind === 'not-found') return undefined;
      throw error;
    }
    return parseContainers(result.stdout)[0];
  }

  async list(labels: Readonly<Record<string, string>> = {}): Promise<MachineInfo[]> {
    const ids = (await this.ok(this.argv.listIds(labels))).stdout.split('\n').filter(Boolean);
    if (ids.length === 0) return [];
    const result = await this.run(this.argv.inspect(ids));
    // A container removed between `ps` and `inspect` is simply gone; the others are still printed.
    if (result.exitCode !== 0) {
      const error = this.cli.error(result);
      if (error.kind !== 'not-found') throw error;
    }
    return parseContainers(result.stdout);
  }

  protected async run(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    const base = typeof this.#env === 'function' ? await this.#env() : this.#env;
    return this.transport.run(argv, { ...options, env: { ...base, ...options.env } });
  }

  protected async ok(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    const result = await this.run(argv, options);
    if (result.exitCode !== 0) throw this.cli.error(result);
    return result;
  }
}

function checkUploadOptions(options: UploadOptions): void {
  // uid and gid must fit ustar's 7 octal digits.
  for (const [field, n, max] of [
    ['mode', options.mode, 0o7777],
    ['uid', options.uid, 0o7777777],
    ['gid', options.gid, 0o7777777],
  ] as const) {
    if (!Number.isInteger(n) || n < 0 || n > max)
      throw new ConfigError(`upload ${field} must be an integer in 0..${max}, got ${n}`, [{ path: field, message: 'out of range' }]);
  }
}

/** Env-file lines in a private (0600, created exclusively) temp file for the length of one CLI call. */
function withEnvFile<T>(content: string | undefined, use: (path: string | undefined) => Promise<T>): Promise<T> {
  return content === undefined ? use(undefined) : withPrivateTempFile(new TextEncoder().encode(content), use, 'env');
}
