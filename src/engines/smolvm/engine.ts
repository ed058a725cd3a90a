/**
 * smolvm microVMs through the `smolvm` CLI: every argv comes from `smolvmArgv`, every call goes
 * through the transport, and smolvm's own failures throw a `SmolvmError`.
 */
import { imageRefProblem } from '../../engine/validate.ts';
import { EngineCommandError } from '../../errors.ts';
import type { CommandResult, RunOptions, Transport } from '../../transport/types.ts';
import { removeOwnedMachine } from '../../engine/ownership.ts';
import {
  type ConfigIssue,
  type Engine,
  type EngineCapabilities,
  type ExecOptions,
  type ExecResult,
  type ForkClone,
  type ForkResult,
  type HostRoute,
  LAUNCH_LABEL,
  type MachineConfig,
  type MachineInfo,
  type MachineRequest,
  type MachineState,
  type UploadOptions,
} from '../../engine/types.ts';
import { smolvmArgv } from './argv.ts';
import { checkSmolvmEnv, smolvmEnvIssues } from './env.ts';
import { isSmolvmFailure, SmolvmError, smolvmMissingBinary } from './errors.ts';
import { type ForkFeatures, forkFeatures, smolvmForkArgv } from './fork.ts';
import { featuresOf, type SmolvmFeatures, type SmolvmVersion } from './version.ts';

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

/** Host-side exec deadline: smolvm's own `--timeout` fires first, so allow a margin. */
const EXEC_TIMEOUT_MARGIN_MS = 10_000;

/** One machine as `machine ls --json` / `status --json` print it (fields per smolvm 1.9.2). */
export interface SmolvmMachineJson {
  readonly name: string;
  readonly state: string;
  readonly image?: string | null;
  readonly labels?: Record<string, string>;
  readonly [field: string]: unknown;
}

export interface SmolvmEngineOptions {
  readonly transport: Transport;
  /** The installed version, when known (e.g. from `requireSmolvmVersion()`): newer flags are used only when it has them. Default: the 1.9 baseline. */
  readonly version?: SmolvmVersion;
}

export class SmolvmEngine implements Engine {
  readonly kind = 'smolvm';
  readonly transport: Transport;
  readonly features: SmolvmFeatures;
  readonly forkFeatures: ForkFeatures;
  readonly capabilities: EngineCapabilities;

  constructor(options: SmolvmEngineOptions) {
    this.transport = options.transport;
    this.features = featuresOf(options.version);
    // The 1.9 baseline when the version is unknown (the fake reproduces 1.9.2).
    this.forkFeatures = forkFeatures(options.version ?? { major: 1, minor: 9, patch: 2, raw: '1.9.2' });
    // `machine cp` copies single files; smolvm enforces --allow-host/--allow-cidr itself; `machine fork` clones a running VM.
    this.capabilities = { treeUpload: false, hostRoute: true, egressAllowList: true, execAsUser: this.features.execUser, fork: true };
  }

  /**
   * smolvm's own fork: the golden is (re)started as a fork source (forkability is decided at boot),
   * then each clone is made with one fork call. The clones are copy-on-write copies of its disks
   * (and memory) and inherit its record: labels, env, network. On 1.9 the golden stays frozen
   * while it has clones: no exec or cp into it then (smolvm would mark it unreachable).
   */
  async fork(golden: string, clones: readonly ForkClone[]): Promise<ForkResult> {
    const f = this.forkFeatures;
    const info = await this.status(golden);
    if (!info)
      throw new SmolvmError({
        kind: 'not-found',
        reason: `vm not found: ${golden}`,
        argv: smolvmArgv.status(golden),
        exitCode: 1,
        stderr: `Error: vm not found: ${golden}\n`,
      });
    // A frozen golden is already a fork base (forked before): its checkpoint serves the next clones.
    if (info.state !== 'frozen') {
      if (info.state === 'running') await this.stop(golden);
      try {
        await this.call(smolvmForkArgv.start(golden, f));
      } catch (error) {
        // Stopped only to boot it forkable: a failed forkable boot must not leave a running golden
        // stopped (the caller thaws a frozen one, nothing more). An ordinary boot brings it back.
        if (info.state === 'running') await this.start(golden).catch(() => undefined);
        throw error;
      }
    }
    const made: string[] = [];
    try {
      for (const clone of clones) {
        await this.call(smolvmForkArgv.fork({ source: golden, clone: clone.name }, f));
        made.push(clone.name);
      }
    } catch (error) {
      // Only the clones this call made. smolvm refuses a name that exists, so each was ours when
      // made, but a name proves nothing later: it may have been deleted and a namesake made since.
      // Clones inherit the golden's labels, so its launch id read back proves one; a golden without
      // one proves nothing, and its clones stay. (A clone whose call failed, e.g. a host timeout
      // after smolvm made it, is not known here: the caller's undo reads back every name it asked for.)
      const launchId = info.labels[LAUNCH_LABEL];
      if (launchId !== undefined) for (const name of made.reverse()) await removeOwnedMachine(this, name, { launchId }).catch(() => undefined);
      throw error;
    }
    return { base: { kind: 'machine', id: golden }, goldenUsable: f.sourceFrozen === false };
  }

  /** The env values smolvm cannot carry (./env.ts); image and user it takes as they are. */
  checkConfig(request: MachineRequest): ConfigIssue[] {
    const image = BARE_IMAGES.has(request.image) ? undefined : imageRefProblem(request.image);
    return [
      ...(image ? [{ path: 'image', message: `${JSON.stringify(request.image)} is not an image reference smolvm takes: it ${image}` }] : []),
      ...smolvmEnvIssues(request.env),
    ];
  }

  async create(config: MachineConfig): Promise<void> {
    const { network } = config;
    const env = config.env ?? {};
    checkSmolvmEnv(env);
    const argv = smolvmArgv.create({
      name: config.name,
      ...(BARE_IMAGES.has(config.image) ? {} : { image: config.image }),
      net: network.enabled,
      allowHosts: network.allowHosts,
      // Before --allow-host-loopback (1.10), the gateway itself must be allowed for the daemons to be reached.
      allowCidrs: network.hostOnly && !this.features.hostLoopbackFlag ? [...network.allowCidrs, `${SMOLVM_GATEWAY}/32`] : network.allowCidrs,
      // Only the host's services: virtio-net limited to loopback, reached as host.smolvm.internal.
      ...(network.hostOnly && !network.allowHosts.length && !network.allowCidrs.length ? { outboundLocalhostOnly: true } : {}),
      ...(network.hostOnly && this.features.hostLoopbackFlag ? { allowHostLoopback: true } : {}),
      envKeys: Object.keys(env),
      ...(config.workdir !== undefined ? { workdir: config.workdir } : {}),
      ...(config.cpus !== undefined ? { cpus: config.cpus } : {}),
      ...(config.memMib !== undefined ? { memMib: config.memMib } : {}),
      labels: config.labels,
    });
    await this.call(argv, config.env ? { env } : {});
  }

  /**
   * Daemons bind the host loopback. Any egress or host-only policy puts the VM on virtio-net,
   * whose gateway relays `host.smolvm.internal:<port>` to the host's 127.0.0.1:<port>.
   */
  async hostRoute(): Promise<HostRoute> {
    return { bindHost: '127.0.0.1', guestHost: SMOLVM_HOST_ALIAS };
  }

  async start(name: string): Promise<void> {
    await this.call(smolvmArgv.start(name));
  }

  async stop(name: string): Promise<void> {
    await this.call(smolvmArgv.stop(name));
  }

  /** smolvm names are its ids. */
  async remove(name: string): Promise<void> {
    try {
      await this.call(smolvmArgv.delete(name));
    } catch (error) {
      if (error instanceof EngineCommandError && error.kind === 'not-found') return;
      throw error;
    }
  }

  async upload(name: string, hostPath: string, guestPath: string, options: UploadOptions): Promise<void> {
    await this.call(smolvmArgv.upload(hostPath, name, guestPath, options));
  }

  /**
   * The guest's exit code, stdout and stderr come back as they were; only smolvm's own failures
   * (an `Error: …` line from smolvm, a usage error, a host timeout) throw. A guest binary that
   * does not exist is exit 127, as on every engine (smolvm's agent reports it as its own error).
   */
  async exec(name: string, argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const interactive = options.interactive === true;
    checkSmolvmEnv(options.env);
    const execArgv = smolvmArgv.exec(name, argv, {
      envKeys: Object.keys(options.env ?? {}),
      ...(options.workdir !== undefined ? { workdir: options.workdir } : {}),
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      interactive: options.stdin !== undefined || interactive,
      ...(interactive && process.stdin.isTTY === true ? { tty: true } : {}),
      // Before 1.14 smolvm has no exec --user: commands run as the image's USER (root on a bare VM).
      ...(options.user && this.features.execUser ? { user: options.user } : {}),
    });
    const result = await this.transport.run(execArgv, {
      ...(options.env ? { env: options.env } : {}),
      ...(options.stdin !== undefined && !interactive ? { stdin: options.stdin } : {}),
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs + EXEC_TIMEOUT_MARGIN_MS } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(interactive ? { inheritStdio: true } : {}),
    });
    if (result.timedOut || isSmolvmFailure(result)) {
      const missing = smolvmMissingBinary(result);
      if (missing !== undefined) return { exitCode: 127, stdout: '', stderr: `${argv[0]}: ${missing}\n`, stdoutBytes: new Uint8Array() };
      throw SmolvmError.fromResult(result);
    }
    return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr, stdoutBytes: result.stdoutBytes };
  }

  async status(name: string): Promise<MachineInfo | undefined> {
    try {
      return toInfo(parseJson<SmolvmMachineJson>(await this.call(smolvmArgv.status(name))));
    } catch (error) {
      if (error instanceof EngineCommandError && error.kind === 'not-found') return undefined;
      throw error;
    }
  }

  async list(labels: Readonly<Record<string, string>> = {}): Promise<MachineInfo[]> {
    const machines = parseJson<SmolvmMachineJson[]>(await this.call(smolvmArgv.ls()));
    return machines.map(toInfo).filter((m) => Object.entries(labels).every(([k, v]) => m.labels[k] === v));
  }

  /** Runs a smolvm verb whose non-zero exit is always smolvm's own failure. */
  private async call(argv: string[], options: RunOptions = {}): Promise<CommandResult> {
    const result = await this.transport.run(argv, options);
    if (result.exitCode !== 0 || result.timedOut) throw SmolvmError.fromResult(result);
    return result;
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

function parseJson<T>(result: CommandResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch (cause) {
    throw new SmolvmError(
      { kind: 'unknown', reason: 'smolvm printed invalid JSON', argv: result.argv, exitCode: result.exitCode, stderr: result.stderr, stdout: result.stdout },
      { cause },
    );
  }
}
