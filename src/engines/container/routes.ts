/**
 * Host routes on the container CLIs, run: the per-launch `--internal` network, what the route's
 * hooks set up beside it (podman's bridge) and its firewall rules, read back and taken down.
 * ContainerEngine delegates here and hands over its CLI calls; a subclass makes the network
 * (`createRouteNetwork`), this module does the rest.
 */
import { ConfigError } from '../../errors.ts';
import { type HostRoute, type HostRouteOptions, LAUNCH_LABEL, type RouteLeftover } from '../../engine/types.ts';
import type { CommandResult } from '../../transport/types.ts';
import type { ContainerArgv } from './argv.ts';
import type { ContainerCli, ContainerNetwork, ParsedNetwork } from './cli.ts';
import type { HostFirewall } from './firewall.ts';

/** Something a host route sets up beside its network, and takes down with it (podman's bridge; a firewall). */
export interface RouteHook {
  /** After the network exists, before the route is handed out; a throw removes the network. */
  created?(network: ParsedNetwork): Promise<void>;
  /** After the network is gone (its machines went first). */
  removed?(network: ParsedNetwork): Promise<void>;
}

/** What routes need of the engine: its CLI, its calls, its hooks. */
export interface RouteHost {
  readonly kind: string;
  readonly cli: ContainerCli;
  readonly argv: ContainerArgv;
  /** Run in order on a route's network. */
  readonly hooks: readonly RouteHook[];
  run(argv: readonly string[]): Promise<CommandResult>;
  ok(argv: readonly string[]): Promise<CommandResult>;
}

/** How many networks `status` remembers for `remove` (the oldest go first). */
const READ_KEPT = 16;

export class RouteNetworks {
  readonly #host: RouteHost;
  readonly #firewall: HostFirewall | undefined;
  /** What `status` read, by network id, for the `remove` that usually follows. */
  readonly #read = new Map<string, ParsedNetwork>();
  /** Launches whose rules `remove` took, until `removeLeftovers` is asked for them. */
  readonly #rulesRemoved = new Set<string>();

  constructor(host: RouteHost, firewall: HostFirewall | undefined) {
    this.#host = host;
    this.#firewall = firewall;
  }

  /** `hostRoute`: see ContainerEngine. `create` makes the network and reads it back. */
  async open(
    machine: string,
    options: HostRouteOptions,
    create: (name: string, labels: Readonly<Record<string, string>>) => Promise<ParsedNetwork>,
  ): Promise<HostRoute> {
    const launchId = options.labels[LAUNCH_LABEL];
    if (!launchId) throw new ConfigError(`hostRoute needs the ${LAUNCH_LABEL} label`, [{ path: 'labels', message: 'missing launch id' }]);
    const name = `claude-bottle-${launchId}`;
    // Without its firewall a route would open the host to the guest: refuse before creating anything.
    const firewall = this.#firewall;
    await firewall?.check();
    const network = await create(name, { ...options.labels, 'claude-bottle.machine': machine });
    try {
      const { gateway, hostInterface } = network;
      if (!gateway) throw this.#unusable(network, 'has no gateway address');
      for (const hook of this.#host.hooks) await hook.created?.(network);
      const route = { bindHost: gateway, guestHost: gateway, network: name };
      if (!firewall) return route;
      if (!hostInterface) throw this.#unusable(network, 'names no host interface for its firewall');
      // Deny-all before any daemon binds; `allow` opens exactly the daemons' ports before the machine exists.
      const rules = { launchId, bridge: hostInterface, gateway };
      this.#rulesRemoved.delete(launchId);
      await firewall.install(rules);
      return { ...route, allow: (ports) => firewall.allow(rules, ports) };
    } catch (error) {
      const removed = await this.#drop(network.id, network).catch(() => undefined);
      // Its rules too, when removing the network stopped before them.
      if (removed !== launchId) await firewall?.remove(launchId).catch(() => undefined);
      throw error;
    }
  }

  /** A network the engine just created, read back; removed when that fails (nothing else is set up yet). */
  async readCreated(nameOrId: string): Promise<ParsedNetwork> {
    const { cli, argv, kind } = this.#host;
    try {
      const network = await this.inspect(nameOrId);
      if (network) return network;
      throw cli.error(
        { argv: argv.networkInspect([nameOrId]), exitCode: 0, stderr: '', stdout: '', timedOut: false },
        { reason: `${kind} network ${nameOrId} vanished right after it was created` },
      );
    } catch (error) {
      await this.#host.run(argv.networkRemove(nameOrId)).catch(() => undefined);
      throw error;
    }
  }

  /** One `network inspect`, without the attached-machine count (podman's costs another call). */
  async inspect(nameOrId: string): Promise<ParsedNetwork | undefined> {
    const result = await this.#host.run(this.#host.argv.networkInspect([nameOrId]));
    if (result.exitCode === 0) return this.#host.cli.parseNetworks(result.stdout)[0];
    if (this.#host.cli.isNoSuchNetwork(result.stderr)) return undefined;
    throw this.#host.cli.error(result);
  }

  async status(nameOrId: string): Promise<ContainerNetwork | undefined> {
    const network = await this.inspect(nameOrId);
    if (!network) return undefined;
    // A network's labels, bridge and gateway never change: the `remove(id)` that follows an
    // ownership check reuses them instead of reading them again.
    this.#read.set(network.id, network);
    if (this.#read.size > READ_KEPT) this.#read.delete(this.#read.keys().next().value as string);
    return (await this.#withMachines([network]))[0];
  }

  async list(labels: Readonly<Record<string, string>>): Promise<ContainerNetwork[]> {
    const { cli, argv } = this.#host;
    const ids = (await this.#host.ok(argv.networkList(labels))).stdout.split('\n').filter(Boolean);
    if (ids.length === 0) return [];
    const result = await this.#host.run(argv.networkInspect(ids));
    // A network removed between `ls` and `inspect` is simply gone; the others are still printed.
    if (result.exitCode !== 0 && !cli.isNoSuchNetwork(result.stderr)) throw cli.error(result);
    return this.#withMachines(result.stdout.trim() ? cli.parseNetworks(result.stdout) : []);
  }

  /** The network first (a network still in use keeps its rules), then what its hooks and firewall set up. */
  async remove(nameOrId: string): Promise<void> {
    const read = this.#read.get(nameOrId);
    this.#read.delete(nameOrId);
    const launchId = await this.#drop(nameOrId, read);
    if (launchId !== undefined) this.#rulesRemoved.add(launchId);
  }

  /** Firewall chains on this host, by launch id (also those whose network is gone). */
  async leftovers(): Promise<RouteLeftover[]> {
    return this.#firewall ? this.#firewall.list() : [];
  }

  async removeLeftovers(launchId: string): Promise<void> {
    // Callers follow removeNetwork with this: when it took the rules already, they are not read again.
    if (this.#rulesRemoved.delete(launchId)) return;
    await this.#firewall?.remove(launchId);
  }

  /** `remove`'s work; the launch whose firewall rules went with the network, if any. */
  async #drop(nameOrId: string, read: ParsedNetwork | undefined): Promise<string | undefined> {
    const { cli, argv, hooks } = this.#host;
    const needsInfo = this.#firewall !== undefined || hooks.some((hook) => hook.removed);
    const network = read ?? (needsInfo ? await this.inspect(nameOrId) : undefined);
    if (needsInfo && !network) return undefined;
    const result = await this.#host.run(argv.networkRemove(nameOrId));
    if (result.exitCode !== 0 && !cli.isNoSuchNetwork(result.stderr)) throw cli.error(result);
    if (network) for (const hook of hooks) await hook.removed?.(network);
    const launchId = network?.labels[LAUNCH_LABEL];
    if (launchId === undefined || !this.#firewall) return undefined;
    await this.#firewall.remove(launchId);
    return launchId;
  }

  #unusable(network: ParsedNetwork, what: string): Error {
    return this.#host.cli.error(
      { argv: this.#host.argv.networkInspect([network.id]), exitCode: 0, stderr: '', stdout: '', timedOut: false },
      { reason: `${this.#host.kind} network ${network.name} ${what}` },
    );
  }

  /** Fills in attached-machine counts the CLI's JSON leaves out (podman's): one call per network. */
  async #withMachines(networks: readonly ParsedNetwork[]): Promise<ContainerNetwork[]> {
    return Promise.all(
      networks.map(async (n) => {
        if (n.machines !== undefined) return n as ContainerNetwork;
        const attached = (await this.#host.ok(this.#host.argv.listOnNetwork(n.name))).stdout.split('\n').filter(Boolean).length;
        return { ...n, machines: attached };
      }),
    );
  }
}
