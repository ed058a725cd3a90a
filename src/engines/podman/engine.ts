/**
 * Podman, daemonless, through its CLI on the shared transport (`PODMAN_BIN`): the container
 * engine docker uses, with podman's quirks (./argv.ts), its error lines (./errors.ts), the
 * bridge its host routes need (./bridge.ts) and, where this host needs it, a containers.conf
 * that lets runc start containers at all (./containers-conf.ts).
 */
import type { Env } from '../../host/state.ts';
import type { Transport } from '../../transport/types.ts';
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
    super(PODMAN_CLI, { treeUpload: true, hostRoute: rootful, egressAllowList: false, execAsUser: true }, { ...options, env: async () => ({ ...(await conf()).env, ...given }) });
    this.#conf = conf;
    if (rootful) this.routeHooks.push(bridgeHook(options.transport));
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
export async function probePodman(transport: Transport, env: Env = process.env): Promise<{ answers: boolean; version?: string; error?: string; setup?: ContainersConfSetup }> {
  try {
    const version = await new PodmanEngine({ transport, hostEnv: env, containersConf: 'off' }).version();
    return { answers: true, version, setup: await planContainersConf(env) };
  } catch (error) {
    return { answers: false, error: (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '' };
  }
}

export { PodmanError };
