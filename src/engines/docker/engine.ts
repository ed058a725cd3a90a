import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { packTar } from '../../archive/tar.ts';
import { ConfigError } from '../../errors.ts';
import { checkGuestPath, checkImage, dockerArgv, dockerNetworkArgv } from './argv.ts';
import { envValueProblem, planEnv } from './env.ts';
import { DockerError, isDockerFailure } from './errors.ts';
import { bridgeOf, type HostFirewall, IptablesFirewall } from './firewall.ts';
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
  type MachineRequest,
  type MachineState,
  type NetworkInfo,
  type RouteLeftover,
  type UploadOptions,
} from '../../engine/types.ts';

export interface DockerEngineOptions {
  readonly transport: Transport;
  /** Layered onto every docker call's environment, e.g. `DOCKER_HOST` or `DOCKER_CONTEXT`. */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * The docker network a machine with network enabled joins (e.g. `host`, or an `--internal`
   * network you created); default docker's default bridge. Machines without network get none.
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

/**
 * A machine is a container kept alive by a trap-and-sleep shell; every call is one docker CLI
 * command through the shared Transport. `DOCKER_HOST` and friends flow through the environment.
 */
export class DockerEngine implements Engine {
  readonly kind = 'docker';
  /** Docker has no allow-list of its own: egress goes through the proxy on the host route. */
  readonly capabilities: EngineCapabilities = { treeUpload: true, hostRoute: true, egressAllowList: false, execAsUser: true };
  readonly #transport: Transport;
  readonly #env: Readonly<Record<string, string>>;
  readonly #network: string | undefined;
  readonly #firewall: HostFirewall | undefined;

  constructor(options: DockerEngineOptions) {
    this.#transport = options.transport;
    this.#env = options.env ?? {};
    this.#network = options.network;
    this.#firewall = options.firewall === 'off' ? undefined : (options.firewall ?? new IptablesFirewall(options.transport));
  }

  /** The engine's version; throws a DockerError when no engine answers. */
  async serverVersion(): Promise<string> {
    const result = await this.#ok(dockerArgv.info());
    return z.string().parse(JSON.parse(result.stdout));
  }

  async create(config: MachineConfig): Promise<void> {
    const { network } = config;
    // Allow-lists on docker arrive with the egress proxy network; until then any network is the default bridge.
    const wantsNetwork = network.enabled || network.allowHosts.length > 0 || network.allowCidrs.length > 0;
    const env = planEnv(config.env);
    await withEnvFile(env.envFile, async (envFile) => {
      const argv = dockerArgv.create({
        name: config.name,
        image: config.image,
        labels: config.labels,
        network: network.attach !== undefined ? { name: network.attach } : !wantsNetwork ? 'none' : this.#network !== undefined ? { name: this.#network } : 'default',
        envKeys: env.keys,
        ...(envFile !== undefined ? { envFile } : {}),
        ...(config.user ? { user: { uid: config.user.uid, gid: config.user.gid } } : {}),
        ...(config.workdir !== undefined ? { workdir: config.workdir } : {}),
        ...(config.cpus !== undefined ? { cpus: config.cpus } : {}),
        ...(config.memMib !== undefined ? { memMib: config.memMib } : {}),
      });
      const result = await this.#run(argv, { env: env.cliEnv });
      if (result.exitCode === 0) return;
      const error = DockerError.fromResult(result);
      if (error.kind !== 'image-missing') throw error;
      throw DockerError.fromResult(result, {
        reason:
          `image ${config.image} is not present locally, and claude-bottle never pulls images. ` +
          `Make it local first: \`docker pull ${config.image}\`, \`docker build -t ${config.image} …\` or \`docker load -i …\``,
      });
    });
  }

  /**
   * A fresh `--internal` network per launch, named after the launch id so it never meets a name
   * someone else chose: the guest reaches the host's gateway address, where the daemons listen,
   * and nothing beyond (egress goes through the proxy there). A failure after the network exists
   * removes it by the id docker gave it.
   */
  async hostRoute(machine: string, options: HostRouteOptions): Promise<HostRoute> {
    const launchId = options.labels[LAUNCH_LABEL];
    if (!launchId) throw new ConfigError(`hostRoute needs the ${LAUNCH_LABEL} label`, [{ path: 'labels', message: 'missing launch id' }]);
    const name = `claude-bottle-${launchId}`;
    // Without its firewall a route would open the host to the guest: refuse before creating anything.
    const firewall = this.#firewall;
    await firewall?.check();
    const id = (await this.#ok(dockerNetworkArgv.create(name, { ...options.labels, 'claude-bottle.machine': machine }))).stdout.trim();
    try {
      const info = await this.networkStatus(id);
      const gateway = info?.gateway;
      if (!info || !gateway) throw new DockerError({ kind: 'unknown', reason: `docker network ${name} has no gateway address`, argv: dockerNetworkArgv.inspect([id]), exitCode: 0, stderr: '' });
      if (!firewall) return { bindHost: gateway, guestHost: gateway, network: name };
      // Deny-all before any daemon binds; `allow` opens exactly the daemons' ports before the machine exists.
      const rules = { launchId, bridge: info.bridge, gateway };
      await firewall.install(rules);
      return { bindHost: gateway, guestHost: gateway, network: name, allow: (ports) => firewall.allow(rules, ports) };
    } catch (error) {
      await this.removeNetwork(id).catch(() => undefined);
      // Its rules too, even when removing the network failed half-way.
      await firewall?.remove(launchId).catch(() => undefined);
      throw error;
    }
  }

  async networkStatus(nameOrId: string): Promise<(NetworkInfo & { readonly gateway?: string; readonly bridge: string }) | undefined> {
    const result = await this.#run(dockerNetworkArgv.inspect([nameOrId]));
    if (result.exitCode !== 0) {
      if (/No such network|not found/i.test(result.stderr)) return undefined;
      throw DockerError.fromResult(result);
    }
    return parseNetworks(result.stdout)[0];
  }

  async listNetworks(labels: Readonly<Record<string, string>>): Promise<NetworkInfo[]> {
    const ids = (await this.#ok(dockerNetworkArgv.listIds(labels))).stdout.split('\n').filter(Boolean);
    if (ids.length === 0) return [];
    const result = await this.#run(dockerNetworkArgv.inspect(ids));
    // A network removed between `ls` and `inspect` is simply gone; the others are still printed.
    if (result.exitCode !== 0 && !/No such network|not found/i.test(result.stderr)) throw DockerError.fromResult(result);
    return parseNetworks(result.stdout);
  }

  /** The network first (a network still in use keeps its rules), then its launch's firewall rules. */
  async removeNetwork(nameOrId: string): Promise<void> {
    const launchId = this.#firewall ? (await this.networkStatus(nameOrId))?.labels[LAUNCH_LABEL] : undefined;
    const result = await this.#run(dockerNetworkArgv.remove(nameOrId));
    if (result.exitCode !== 0 && !/No such network|not found/i.test(result.stderr)) throw DockerError.fromResult(result);
    if (launchId !== undefined) await this.#firewall?.remove(launchId);
  }

  /** Firewall chains on this host, by launch id (also those whose network is gone). */
  async listRouteLeftovers(): Promise<RouteLeftover[]> {
    return this.#firewall ? this.#firewall.list() : [];
  }

  async removeRouteLeftovers(launchId: string): Promise<void> {
    await this.#firewall?.remove(launchId);
  }

  /** What docker cannot take: an image that reads as a flag, env values its env-file and CLI cannot carry. */
  checkConfig(request: MachineRequest): ConfigIssue[] {
    const issues: ConfigIssue[] = [];
    try {
      checkImage(request.image);
    } catch {
      issues.push({ path: 'image', message: `${JSON.stringify(request.image)} is not an image reference docker takes (empty, starts with "-" or has spaces)` });
    }
    for (const [key, value] of Object.entries(request.env)) {
      const problem = envValueProblem(key, value);
      if (problem) issues.push({ path: `env.${key}`, message: `docker cannot carry this value: it ${problem}` });
    }
    return issues;
  }

  async start(name: string): Promise<void> {
    await this.#ok(dockerArgv.start(name));
  }

  async stop(name: string): Promise<void> {
    await this.#ok(dockerArgv.stop(name));
  }

  async remove(nameOrId: string): Promise<void> {
    const result = await this.#run(dockerArgv.remove(nameOrId));
    if (result.exitCode === 0) return;
    const error = DockerError.fromResult(result);
    if (error.kind !== 'not-found') throw error;
  }

  /**
   * `docker cp` of a host file would keep the host's mode and owner, so the file travels as a
   * one-entry tar with them set. docker creates missing parents as root 0755; they are instead
   * added to the tar with the upload's owner. Existing parents are never in the tar: a directory
   * entry would reset their mode and owner.
   */
  async upload(name: string, hostPath: string, guestPath: string, options: UploadOptions): Promise<void> {
    checkGuestPath(guestPath);
    checkUploadOptions(options);
    const [data, hostStat] = await Promise.all([readFile(hostPath), stat(hostPath)]);
    // `docker cp` keeps the tar's mode and owner (not the host file's); missing parents are
    // created root-owned 0755, as smolvm's cp does.
    await this.uploadTree(
      name,
      packTar([{ path: guestPath.slice(1), type: 'file', mode: options.mode, uid: options.uid, gid: options.gid, data, mtime: Math.floor(hostStat.mtimeMs / 1000) }]),
    );
  }

  async uploadTree(name: string, archive: Uint8Array): Promise<void> {
    const result = await this.#run(dockerArgv.copyIn(name), { stdin: archive });
    if (result.exitCode === 0) return;
    // For an unknown container `docker cp` says only that the destination "must be a directory".
    if ((await this.status(name)) === undefined) {
      throw DockerError.fromResult(result, { kind: 'not-found', reason: `no such container: ${name}` });
    }
    throw DockerError.fromResult(result);
  }

  async exec(name: string, argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const env = planEnv(options.env);
    const interactive = options.interactive === true;
    return withEnvFile(env.envFile, async (envFile) => {
      const dockerExec = dockerArgv.exec(name, argv, {
        envKeys: env.keys,
        ...(envFile !== undefined ? { envFile } : {}),
        ...(options.workdir !== undefined ? { workdir: options.workdir } : {}),
        ...(options.user ? { user: options.user } : {}),
        stdin: options.stdin !== undefined || interactive,
        tty: interactive && process.stdin.isTTY === true,
      });
      // A timeout or abort ends the docker CLI; the guest process itself is not signalled.
      const result = await this.#run(dockerExec, {
        env: env.cliEnv,
        ...(options.stdin !== undefined && !interactive ? { stdin: options.stdin } : {}),
        ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
        ...(interactive ? { inheritStdio: true } : {}),
      });
      if (isDockerFailure(result)) throw DockerError.fromResult(result);
      return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr, stdoutBytes: result.stdoutBytes };
    });
  }

  async status(nameOrId: string): Promise<MachineInfo | undefined> {
    const result = await this.#run(dockerArgv.inspect([nameOrId]));
    if (result.exitCode !== 0) {
      const error = DockerError.fromResult(result);
      if (error.kind === 'not-found') return undefined;
      throw error;
    }
    return parseInspect(result.stdout)[0];
  }

  async list(labels: Readonly<Record<string, string>> = {}): Promise<MachineInfo[]> {
    const ids = (await this.#ok(dockerArgv.listIds(labels))).stdout.split('\n').filter(Boolean);
    if (ids.length === 0) return [];
    const result = await this.#run(dockerArgv.inspect(ids));
    // A container removed between `ps` and `inspect` is simply gone; the others are still printed.
    if (result.exitCode !== 0) {
      const error = DockerError.fromResult(result);
      if (error.kind !== 'not-found') throw error;
    }
    return parseInspect(result.stdout);
  }

  #run(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    return this.#transport.run(argv, { ...options, env: { ...this.#env, ...options.env } });
  }

  async #ok(argv: readonly string[]): Promise<CommandResult> {
    const result = await this.#run(argv);
    if (result.exitCode !== 0) throw DockerError.fromResult(result);
    return result;
  }
}

const STATES: Readonly<Record<string, MachineState>> = {
  created: 'created',
  running: 'running',
  paused: 'frozen',
  exited: 'stopped',
  dead: 'stopped',
  removing: 'stopped',
};

const InspectJson = z.array(
  z.object({
    Id: z.string(),
    Name: z.string(),
    State: z.object({ Status: z.string() }),
    Config: z.object({
      Image: z.string().optional(),
      Labels: z.record(z.string(), z.string()).nullish(),
    }),
  }),
);

function parseInspect(stdout: string): MachineInfo[] {
  return InspectJson.parse(JSON.parse(stdout)).map((c) => ({
    id: c.Id,
    name: c.Name.replace(/^\//, ''),
    state: STATES[c.State.Status] ?? 'unknown',
    image: c.Config.Image || null,
    labels: c.Config.Labels ?? {},
  }));
}

const NetworkJson = z.object({
  Id: z.string(),
  Name: z.string(),
  Labels: z.record(z.string(), z.string()).nullish(),
  IPAM: z.object({ Config: z.array(z.object({ Gateway: z.string().optional() })).nullish() }).optional(),
  Containers: z.record(z.string(), z.unknown()).nullish(),
  Options: z.record(z.string(), z.string()).nullish(),
});

function parseNetworks(stdout: string): (NetworkInfo & { readonly gateway?: string; readonly bridge: string })[] {
  return stdout
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => {
      const n = NetworkJson.parse(JSON.parse(line));
      const gateway = n.IPAM?.Config?.find((c) => c.Gateway)?.Gateway;
      return {
        id: n.Id,
        name: n.Name,
        labels: n.Labels ?? {},
        machines: Object.keys(n.Containers ?? {}).length,
        bridge: bridgeOf({ id: n.Id, options: n.Options ?? null }),
        ...(gateway ? { gateway } : {}),
      };
    });
}

function checkUploadOptions(options: UploadOptions): void {
  // uid and gid must fit ustar's 7 octal digits.
  for (const [field, n, max] of [
    ['mode', options.mode, 0o7777],
    ['uid', options.uid, 0o7777777],
    ['gid', options.gid, 0o7777777],
  ] as const) {
    if (!Number.isInteger(n) || n < 0 || n > max) throw new ConfigError(`upload ${field} must be an integer in 0..${max}, got ${n}`, [{ path: field, message: 'out of range' }]);
  }
}

/** Writes env-file lines to a private temp file for the length of one docker call. */
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
