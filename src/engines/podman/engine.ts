/**
 * Podman, daemonless, through its CLI on the shared transport (`PODMAN_BIN`): the container
 * engine docker uses, with podman's quirks (./argv.ts), its error lines (./errors.ts), the
 * bridge its host routes need (./bridge.ts) and, where this host needs it, a containers.conf
 * that lets runc start containers at all (./containers-conf.ts).
 */
import type { Env } from '../../host/state.ts';
import type { Transport } from '../../transport/types.ts';
import type { ParsedNetwork } from '../container/cli.ts';
import { ContainerEngine, type ContainerEngineOptions } from '../container/engine.ts';
import { podmanArgv } from './argv.ts';
import { bridgeHook } from './bridge.ts';
import { PODMAN_CLI } from './cli.ts';
import { type ContainersConfSetup, type LimitFacts, planContainersConf, podmanEnvironment } from './containers-conf.ts';
import { PodmanError } from './errors.ts';

export interface PodmanEngineOptions extends ContainerEngineOptions {
  /**
   * Whether podman runs rootful here. A host route binds the network's gateway on the host, which
   * only a rootful podman's bridge offers: without it `capabilities.hostRoute` is false.
   * Default: this process runs as root.
   */
  readonly rootful?: boolean;
  /**
   * `auto` (default): where podman's default ulimits cannot work on this host, and CONTAINERS_CONF
   * is not set, point podman at claude-bottle's containers.conf (see `doctor`). `off`: never.
   */
  readonly containersConf?: 'auto' | 'off';
  /** What the containers.conf decision reads (CONTAINERS_CONF, the cache dir); default `process.env`. */
  readonly hostEnv?: Env;
  /** The limits this process may give podman's children; default read from /proc. */
  readonly limits?: LimitFacts;
}

type PodmanSetup = { readonly env: Readonly<Record<string, string>>; readonly setup: ContainersConfSetup };

export class PodmanEngine extends ContainerEngine {
  override readonly kind = 'podman';
  readonly #conf: () => Promise<PodmanSetup>;

  constructor(options: PodmanEngineOptions) {
    const hostEnv = options.hostEnv ?? process.env;
    const given = options.env ?? {};
    const userConf = given.CONTAINERS_CONF;
    let setup: Promise<PodmanSetup> | undefined;
    // Worked out on the first call: the constructor stays synchronous and writes nothing.
    const conf = (): Promise<PodmanSetup> =>
      (setup ??=
        options.containersConf === 'off'
          ? Promise.resolve({ env: {}, setup: { mode: 'podman-default' } })
          : userConf !== undefined
            ? Promise.resolve({ env: {}, setup: { mode: 'user', path: userConf } })
            : podmanEnvironment(hostEnv, options.limits));
    const rootful = options.rootful ?? process.getuid?.() === 0;
    super(
      PODMAN_CLI,
      { treeUpload: true, hostRoute: rootful, egressAllowList: false, execAsUser: true, fork: true },
      { ...options, env: async () => ({ ...(await conf()).env, ...given }) },
    );
    this.#conf = conf;
    if (rootful) this.routeHooks.push(bridgeHook(options.transport));
  }

  /**
   * podman 4.3 gives an `--internal --disable-dns` network no gateway, and the daemons bind the
   * gateway. So where the network podman made has none, the subnet podman picked for it is kept
   * and the network made again with that subnet and its first address as gateway (again if
   * another network took the subnet in between). DNS stays off: aardvark-dns would resolve
   * outside names for the guest.
   */
  protected override async createRouteNetwork(name: string, labels: Readonly<Record<string, string>>): Promise<ParsedNetwork> {
    for (let attempt = 1; ; attempt++) {
      await this.ok(podmanArgv.networkCreate(name, labels));
      const first = await this.readCreated(name);
      // A podman that gives it a gateway: the network is as wanted.
      if (first.gateway) return first;
      await this.ok(podmanArgv.networkRemove(name));
      const { subnet } = first;
      const gateway = subnet !== undefined ? firstHost(subnet) : undefined;
      if (subnet === undefined || gateway === undefined)
        throw new PodmanError({
          kind: 'unknown',
          reason: `podman gave network ${name} no IPv4 subnet (${String(subnet)})`,
          argv: podmanArgv.networkInspect([name]),
          exitCode: 0,
          stderr: '',
        });
      const result = await this.run(podmanArgv.networkCreate(name, labels, { subnet, gateway }));
      if (result.exitCode === 0) return this.readCreated(name);
      if (attempt >= 3 || !/already used/i.test(result.stderr)) throw PodmanError.fromResult(result);
    }
  }

  /** How podman is configured for this engine's calls (writes claude-bottle's containers.conf if this host needs it). */
  async containersConf(): Promise<ContainersConfSetup> {
    return (await this.#conf()).setup;
  }

  /** podman's version; throws a PodmanError when podman cannot run here. */
  async version(): Promise<string> {
    return (await this.ok(podmanArgv.version(), { timeoutMs: 15_000 })).stdout.trim();
  }
}

/**
 * Whether podman runs through this transport, its version, and how claude-bottle would configure
 * it here; never throws for an absent podman and writes nothing (`podman info` starts no container).
 */
export async function probePodman(
  transport: Transport,
  env: Env = process.env,
): Promise<{ answers: boolean; version?: string; error?: string; setup?: ContainersConfSetup }> {
  try {
    const version = await new PodmanEngine({ transport, hostEnv: env, containersConf: 'off' }).version();
    return { answers: true, version, setup: await planContainersConf(env) };
  } catch (error) {
    return { answers: false, error: (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '' };
  }
}

/** `10.89.3.0/24` → `10.89.3.1`; undefined for anything but an IPv4 subnet with room for it. */
export function firstHost(subnet: string): string | undefined {
  const match = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(subnet);
  if (!match || Number(match[5]) > 30) return undefined;
  const octets = match.slice(1, 5).map(Number);
  if (octets.some((o) => o > 255)) return undefined;
  const value = (((octets[0] ?? 0) << 24) | ((octets[1] ?? 0) << 16) | ((octets[2] ?? 0) << 8) | (octets[3] ?? 0)) >>> 0;
  const network = (value & (Number(match[5]) === 0 ? 0 : (~0 << (32 - Number(match[5]))) >>> 0)) >>> 0;
  const host = network + 1;
  return [host >>> 24, (host >>> 16) & 255, (host >>> 8) & 255, host & 255].join('.');
}

export { PodmanError };
