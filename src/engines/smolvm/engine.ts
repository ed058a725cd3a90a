import { EngineCommandError } from '../../errors.ts';
import { SmolvmClient, type SmolvmMachineJson } from './client.ts';
import { featuresOf, type SmolvmFeatures, type SmolvmVersion } from './version.ts';
import type { Transport } from '../../transport/types.ts';
import type { Engine, EngineCapabilities, ExecOptions, ExecResult, HostRoute, MachineConfig, MachineInfo, MachineState, UploadOptions } from '../../engine/types.ts';

/** The host as a virtio-net guest sees it (smolvm >= 1.8.3). */
export const SMOLVM_HOST_ALIAS = 'host.smolvm.internal';
/**
 * What `SMOLVM_HOST_ALIAS` resolves to: the virtio-net gateway, which smolvm's relay maps to the
 * host's 127.0.0.1 (same port). Up to 1.9.x its egress allow-list is checked against this
 * address, and `--outbound-localhost-only` lists only 127.0.0.0/8 and ::1 (smolvm source,
 * `tcp_relay.rs`, `machine.rs`): a host-only guest needs this /32 on its allow-list to reach the
 * daemons. Read from the source, not run (README, *The boundary*).
 */
export const SMOLVM_GATEWAY = '100.96.0.1';

/**
 * The bare smolvm VM *is* an Alpine rootfs, so `alpine` means "no --image": no registry pull,
 * which a machine without network could never do (smolvm #807).
 */
const BARE_IMAGES = new Set(['alpine', 'bare']);

export interface SmolvmEngineOptions {
  /** The installed version, when known (e.g. from `requireSupportedVersion()`): newer flags are used only when it has them. Default: the 1.9 baseline. */
  readonly version?: SmolvmVersion;
}

export class SmolvmEngine implements Engine {
  readonly kind = 'smolvm';
  readonly client: SmolvmClient;
  readonly features: SmolvmFeatures;
  readonly capabilities: EngineCapabilities;

  constructor(options: ({ transport: Transport } | { client: SmolvmClient }) & SmolvmEngineOptions) {
    this.client = 'client' in options ? options.client : new SmolvmClient(options.transport);
    this.features = featuresOf(options.version);
    // `machine cp` copies single files; smolvm enforces --allow-host/--allow-cidr itself.
    this.capabilities = { treeUpload: false, hostRoute: true, egressAllowList: true, execAsUser: this.features.execUser };
  }

  async create(config: MachineConfig): Promise<void> {
    const network = config.network;
    await this.client.create({
      name: config.name,
      ...(BARE_IMAGES.has(config.image) ? {} : { image: config.image }),
      net: network.enabled,
      allowHosts: network.allowHosts,
      // Before --allow-host-loopback (1.10), the gateway itself must be allowed for the daemons to be reached.
      allowCidrs: network.hostOnly && !this.features.hostLoopbackFlag ? [...network.allowCidrs, `${SMOLVM_GATEWAY}/32`] : network.allowCidrs,
      // Only the host's services: virtio-net limited to loopback, reached as host.smolvm.internal.
      ...(network.hostOnly && !network.allowHosts.length && !network.allowCidrs.length ? { outboundLocalhostOnly: true } : {}),
      ...(network.hostOnly && this.features.hostLoopbackFlag ? { allowHostLoopback: true } : {}),
      ...(config.env ? { env: config.env } : {}),
      ...(config.workdir !== undefined ? { workdir: config.workdir } : {}),
      ...(config.cpus !== undefined ? { cpus: config.cpus } : {}),
      ...(config.memMib !== undefined ? { memMib: config.memMib } : {}),
      labels: config.labels,
    });
  }

  /**
   * Daemons bind the host loopback. Any egress or host-only policy puts the VM on virtio-net,
   * whose gateway relays `host.smolvm.internal:<port>` to the host's 127.0.0.1:<port>.
   */
  async hostRoute(): Promise<HostRoute> {
    return { bindHost: '127.0.0.1', guestHost: SMOLVM_HOST_ALIAS };
  }

  async start(name: string): Promise<void> {
    await this.client.start(name);
  }

  async stop(name: string): Promise<void> {
    await this.client.stop(name);
  }

  /** smolvm names are its ids. */
  async remove(name: string): Promise<void> {
    try {
      await this.client.delete(name);
    } catch (error) {
      if (error instanceof EngineCommandError && error.kind === 'not-found') return;
      throw error;
    }
  }

  async upload(name: string, hostPath: string, guestPath: string, options: UploadOptions): Promise<void> {
    await this.client.upload(hostPath, name, guestPath, options);
  }

  async exec(name: string, argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    // Before 1.14 smolvm has no exec --user: commands run as the image's USER (root on a bare VM).
    return this.client.exec(name, argv, {
      ...(options.user && this.features.execUser ? { user: options.user } : {}),
      ...(options.env ? { env: options.env } : {}),
      ...(options.workdir !== undefined ? { workdir: options.workdir } : {}),
      ...(options.stdin !== undefined ? { stdin: options.stdin } : {}),
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.interactive ? { inheritStdio: true, tty: process.stdin.isTTY === true } : {}),
    });
  }

  async status(name: string): Promise<MachineInfo | undefined> {
    try {
      return toInfo(await this.client.status(name));
    } catch (error) {
      if (error instanceof EngineCommandError && error.kind === 'not-found') return undefined;
      throw error;
    }
  }

  async list(labels: Readonly<Record<string, string>> = {}): Promise<MachineInfo[]> {
    const machines = await this.client.ls();
    return machines.map(toInfo).filter((m) => Object.entries(labels).every(([k, v]) => m.labels[k] === v));
  }
}

const STATES: ReadonlySet<string> = new Set(['created', 'running', 'stopped', 'failed', 'unreachable', 'frozen']);

function toInfo(json: SmolvmMachineJson): MachineInfo {
  return {
    id: json.name,
    name: json.name,
    state: (STATES.has(json.state) ? json.state : 'unknown') as MachineState,
    image: json.image ?? null,
    labels: json.labels ?? {},
  };
}
