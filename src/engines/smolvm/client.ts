import { ClaudeBottleError } from '../../errors.ts';
import type { CommandResult, RunOptions, Transport } from '../../transport/types.ts';
import { type CreateArgs, type ExecArgs, type UploadArgs, smolvmArgv } from './argv.ts';
import { SmolvmError, parseSmolvmStderr } from './errors.ts';
import { type SmolvmVersion, SMOLVM_MIN_VERSION, missingFeatures, parseSmolvmVersion } from './version.ts';

/** One machine as `machine ls --json` / `status --json` print it (fields per smolvm 1.9.2). */
export interface SmolvmMachineJson {
  readonly name: string;
  readonly state: string;
  readonly cpus?: number;
  readonly memory_mib?: number;
  readonly pid?: number | null;
  readonly image?: string | null;
  readonly labels?: Record<string, string>;
  readonly network?: boolean;
  readonly created_at?: number;
  readonly [field: string]: unknown;
}

export interface SmolvmExecOptions extends Omit<ExecArgs, 'envKeys' | 'interactive'> {
  /** Values go through the transport's env; argv carries only `--env KEY`. */
  readonly env?: Readonly<Record<string, string>>;
  readonly stdin?: string | Uint8Array;
  readonly inheritStdio?: boolean;
  readonly signal?: AbortSignal;
}

export interface SmolvmExecResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly stdoutBytes: Uint8Array;
}

export class SmolvmVersionError extends ClaudeBottleError {
  override name = 'SmolvmVersionError';
  readonly version: string;
  constructor(version: string, missing: readonly string[]) {
    super(`smolvm ${version} is too old for claude-bottle (needs >= ${SMOLVM_MIN_VERSION}); missing: ${missing.join('; ')}. Upgrade smolvm.`);
    this.version = version;
  }
}

/** Host-side exec deadline: smolvm's own `--timeout` fires first, so allow a margin. */
const EXEC_TIMEOUT_MARGIN_MS = 10_000;

/** Typed smolvm verbs. Every argv comes from `smolvmArgv`; every call goes through the transport. */
export class SmolvmClient {
  readonly transport: Transport;
  constructor(transport: Transport) {
    this.transport = transport;
  }

  async version(): Promise<SmolvmVersion> {
    const result = await this.call(smolvmArgv.version());
    const parsed = parseSmolvmVersion(result.stdout || result.stderr);
    if (!parsed) throw new SmolvmError({ kind: 'unknown', reason: 'cannot read smolvm version', argv: result.argv, exitCode: result.exitCode, stderr: result.stderr, stdout: result.stdout });
    return parsed;
  }

  /** Throws `SmolvmVersionError` when the installed smolvm lacks what uploads need. */
  async requireSupportedVersion(): Promise<SmolvmVersion> {
    const version = await this.version();
    const missing = missingFeatures(version);
    if (missing.length) throw new SmolvmVersionError(version.raw, missing);
    return version;
  }

  async create(args: CreateArgs & { readonly env?: Readonly<Record<string, string>> }): Promise<void> {
    const { env, ...rest } = args;
    await this.call(smolvmArgv.create({ ...rest, envKeys: Object.keys(env ?? {}) }), env ? { env } : {});
  }

  async start(name: string): Promise<void> {
    await this.call(smolvmArgv.start(name));
  }

  async stop(name: string): Promise<void> {
    await this.call(smolvmArgv.stop(name));
  }

  async delete(name: string): Promise<void> {
    await this.call(smolvmArgv.delete(name));
  }

  async status(name: string): Promise<SmolvmMachineJson> {
    return parseJson<SmolvmMachineJson>(await this.call(smolvmArgv.status(name)));
  }

  async ls(): Promise<SmolvmMachineJson[]> {
    return parseJson<SmolvmMachineJson[]>(await this.call(smolvmArgv.ls()));
  }

  async upload(hostPath: string, name: string, guestPath: string, options: UploadArgs = {}): Promise<void> {
    await this.call(smolvmArgv.upload(hostPath, name, guestPath, options));
  }

  async download(name: string, guestPath: string, hostPath: string): Promise<void> {
    await this.call(smolvmArgv.download(name, guestPath, hostPath));
  }

  /**
   * Runs a guest command. The guest's exit code, stdout and stderr come back as they were; only
   * smolvm's own failures (an `Error: …` line from smolvm, a usage error, a host timeout) throw.
   */
  async exec(name: string, guestArgv: readonly string[], options: SmolvmExecOptions = {}): Promise<SmolvmExecResult> {
    const argv = smolvmArgv.exec(name, guestArgv, {
      envKeys: Object.keys(options.env ?? {}),
      ...(options.workdir !== undefined ? { workdir: options.workdir } : {}),
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      interactive: options.stdin !== undefined || options.inheritStdio === true,
      ...(options.tty ? { tty: true } : {}),
      ...(options.user ? { user: options.user } : {}),
    });
    const result = await this.transport.run(argv, {
      ...(options.env ? { env: options.env } : {}),
      ...(options.stdin !== undefined ? { stdin: options.stdin } : {}),
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs + EXEC_TIMEOUT_MARGIN_MS } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.inheritStdio ? { inheritStdio: true } : {}),
    });
    if (result.timedOut || isSmolvmFailure(result)) throw SmolvmError.fromResult(result);
    return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr, stdoutBytes: result.stdoutBytes };
  }

  /** Runs a smolvm verb whose non-zero exit is always smolvm's own failure. */
  private async call(argv: string[], options: RunOptions = {}): Promise<CommandResult> {
    const result = await this.transport.run(argv, options);
    if (result.exitCode !== 0 || result.timedOut) throw SmolvmError.fromResult(result);
    return result;
  }
}

// Exit 1 is ambiguous (the guest's `exit 1`, or smolvm failing): only smolvm's known Display
// prefixes on an `Error: ` line, or clap's usage block on exit 2, mark smolvm's own failure.
const SMOLVM_ERROR_LINE =
  /^Error: (vm not found|config operation failed|agent operation failed|invalid vm state|mount operation failed|io operation failed|kvm |hypervisor )/m;

export function isSmolvmFailure(result: Pick<CommandResult, 'exitCode' | 'stderr'>): boolean {
  if (result.exitCode === 1) return SMOLVM_ERROR_LINE.test(result.stderr);
  if (result.exitCode === 2) return parseSmolvmStderr(result.stderr, 2).kind === 'usage' && /\nUsage: /.test(result.stderr);
  return false;
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
