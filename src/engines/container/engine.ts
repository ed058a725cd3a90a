/**
 * The Engine adapter every container CLI shares (docker, podman): a machine is a container kept
 * alive by a trap-and-sleep shell, and every call is one CLI command through the Transport.
 * What differs between CLIs comes in a `ContainerCli`; what a host route needs beyond the
 * network (podman's bridge, a firewall) comes in `RouteHook`s.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../errors.ts';
import type { CommandResult, RunOptions, Transport } from '../../transport/types.ts';
import {
  type ConfigIssue,
  type Engine,
  type EngineCapabilities,
  type ExecOptions,
  type ExecResult,
  type HostRoute,
  type HostRouteOptions,
  LAUNCH_LABEL,
  type MachineConfig,
  type MachineInfo,
  type ForkBase,
  type ForkBaseInfo,
  type ForkClone,
  type ForkResult,
  type MachineRequest,
  type RouteLeftover,
  type UploadOptions,
} from '../../engine/types.ts';
import { checkGuestPath, checkImage, type ContainerArgv, containerArgv } from './argv.ts';
import { type ContainerCli, type ContainerNetwork, type ParsedNetwork, parseContainers } from './cli.ts';
import { envValueProblem, planEnv } from './env.ts';
import { type HostFirewall, IptablesFirewall } from './firewall.ts';
import { type ForkHost, forkContainer, listImageBases, removeImageBase } from './fork-ops.ts';

/** Something a host route sets up beside its network, and takes down with it (podman's bridge; a firewall). */
export interface RouteHook {
  /** After the network exists, before the route is handed out; a throw removes the network. */
  created?(network: ContainerNetwork): Promise<void>;
  /** After the network is gone (its machines went first). */
  removed?(network: ContainerNetwork): Promise<void>;
}

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
  readonly #firewall: HostFirewall | undefined;

  constructor(cli: ContainerCli, capabilities: EngineCapabilities, options: Omit<ContainerEngineOptions, 'env'> & { readonly env?: EnvSource }) {
    this.cli = cli;
    this.kind = cli.kind;
    this.argv = containerArgv(cli);
    this.transport = options.transport;
    this.capabilities = capabilities;
    this.#env = options.env ?? {};
    this.#network = options.network;
    this.#firewall = options.firewall === 'off' ? undefined : (options.firewall ?? new IptablesFirewall(options.transport));
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
  async hostRoute(machine: string, options: HostRouteOptions): Promise<HostRoute> {
    const launchId = options.labels[LAUNCH_LABEL];
    if (!launchId) throw new ConfigError(`hostRoute needs the ${LAUNCH_LABEL} label`, [{ path: 'labels', message: 'missing launch id' }]);
    const name = `claude-bottle-${launchId}`;
    // Without its firewall a route would open the host to the guest: refuse before creating anything.
    const firewall = this.#firewall;
    await firewall?.check();
    const made = await this.createRouteNetwork(name, { ...options.labels, 'claude-bottle.machine': machine });
    try {
      const network = await this.networkStatus(made);
      if (!network?.gateway) {
        throw this.cli.error(
          { argv: this.argv.networkInspect([made]), exitCode: 0, stderr: '', stdout: '', timedOut: false },
          { reason: `${this.kind} network ${name} has no gateway address` },
        );
      }
      for (const hook of this.routeHooks) await hook.created?.(network);
      const route = { bindHost: network.gateway, guestHost: network.gateway, network: name };
      if (!firewall) return route;
      if (!network.hostInterface)
        throw this.cli.error(
          { argv: this.argv.networkInspect([made]), exitCode: 0, stderr: '', stdout: '', timedOut: false },
          { reason: `${this.kind} network ${name} names no host interface for its firewall` },
        );
      // Deny-all before any daemon binds; `allow` opens exactly the daemons' ports before the machine exists.
      const rules = { launchId, bridge: network.hostInterface, gateway: network.gateway };
      await firewall.install(rules);
      return { ...route, allow: (ports) => firewall.allow(rules, ports) };
    } catch (error) {
      await this.removeNetwork(made).catch(() => undefined);
      // Its rules too, even when removing the network failed half-way.
      await firewall?.remove(launchId).catch(() => undefined);
      throw error;
    }
  }

  /** Creates the route's `--internal` network; what it returns (an id or the name) finds it again. */
  protected async createRouteNetwork(name: string, labels: Readonly<Record<string, string>>): Promise<string> {
    // docker prints the new network's id, podman its name.
    return (await this.ok(this.argv.networkCreate(name, labels))).stdout.trim() || name;
  }

  async networkStatus(nameOrId: string): Promise<ContainerNetwork | undefined> {
    const result = await this.run(this.argv.networkInspect([nameOrId]));
    if (result.exitCode !== 0) {
      if (this.cli.isNoSuchNetwork(result.stderr)) return undefined;
      throw this.cli.error(result);
    }
    return (await this.withMachines(this.cli.parseNetworks(result.stdout)))[0];
  }

  async listNetworks(labels: Readonly<Record<string, string>>): Promise<ContainerNetwork[]> {
    const ids = (await this.ok(this.argv.networkList(labels))).stdout.split('\n').filter(Boolean);
    if (ids.length === 0) return [];
    const result = await this.run(this.argv.networkInspect(ids));
    // A network removed between `ls` and `inspect` is simply gone; the others are still printed.
    if (result.exitCode !== 0 && !this.cli.isNoSuchNetwork(result.stderr)) throw this.cli.error(result);
    return this.withMachines(result.stdout.trim() ? this.cli.parseNetworks(result.stdout) : []);
  }

  /** The network first (a network still in use keeps its rules), then what its hooks and firewall set up. */
  async removeNetwork(nameOrId: string): Promise<void> {
    const needsInfo = this.#firewall !== undefined || this.routeHooks.some((hook) => hook.removed);
    const network = needsInfo ? await this.networkStatus(nameOrId) : undefined;
    if (needsInfo && !network) return;
    const result = await this.run(this.argv.networkRemove(nameOrId));
    if (result.exitCode !== 0 && !this.cli.isNoSuchNetwork(result.stderr)) throw this.cli.error(result);
    if (network) for (const hook of this.routeHooks) await hook.removed?.(network);
    const launchId = network?.labels[LAUNCH_LABEL];
    if (launchId !== undefined) await this.#firewall?.remove(launchId);
  }

  /** Firewall chains on this host, by launch id (also those whose network is gone). */
  async listRouteLeftovers(): Promise<RouteLeftover[]> {
    return this.#firewall ? this.#firewall.list() : [];
  }

  async removeRouteLeftovers(launchId: string): Promise<void> {
    await this.#firewall?.remove(launchId);
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
    return { cli: this.cli, machines: this, inspectArgv: (names) => this.argv.inspect(names), run: (argv) => this.run(argv), ok: (argv) => this.ok(argv) };
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

  /** Fills in attached-machine counts the CLI's JSON leaves out (podman's). */
  private async withMachines(networks: readonly ParsedNetwork[]): Promise<ContainerNetwork[]> {
    return Promise.all(
      networks.map(async (n) => {
        if (n.machines !== undefined) return n as ContainerNetwork;
        const attached = (await this.ok(this.argv.listOnNetwork(n.name))).stdout.split('\n').filter(Boolean).length;
        return { ...n, machines: attached };
      }),
    );
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

/** Writes env-file lines to a private temp file for the length of one CLI call. */
async function withEnvFile<T>(content: string | undefined, use: (path: string | undefined) => Promise<T>): Promise<T> {
  if (content === undefined) return use(undefined);
  const dir = await mkdtemp(join(tmpdir(), 'claude-bottle-env-'));
  try {
    const file = join(dir, 'env');
    await writeFile(file, content, { mode: 0o600 });
    return await use(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
