import { execa } from 'execa';
import { BinaryNotFoundError } from '../errors.ts';
import type { CommandResult, RunOptions, Transport } from './types.ts';

export interface ExecaTransportOptions {
  /** Program name → binary path. Defaults: `smolvm` → `$SMOLVM_BIN`, `docker` → `$DOCKER_BIN`, `podman` → `$PODMAN_BIN` (any `<NAME>_BIN`), else the name on PATH. */
  readonly bins?: Readonly<Record<string, string>>;
  /** Base environment for every child; defaults to `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

const INSTALL_HINTS: Record<string, string> = {
  smolvm:
    'Install smolvm (https://smolmachines.com: `curl -sSL https://smolmachines.com/install.sh | bash`, or `brew install smol-machines/tap/smolvm`), or set SMOLVM_BIN to its path.',
  docker: 'Install Docker (e.g. `apt-get install docker.io`, or Docker Desktop), or set DOCKER_BIN to its path.',
  podman: 'Install Podman (e.g. `apt-get install podman`), or set PODMAN_BIN to its path.',
};

const decoder = new TextDecoder();

/** The default transport: no shell, non-zero exits as results, binaries from env or PATH. */
export function createExecaTransport(options: ExecaTransportOptions = {}): Transport {
  const baseEnv = options.env ?? process.env;
  const binFor = (program: string): string =>
    options.bins?.[program] ?? baseEnv[`${program.toUpperCase()}_BIN`] ?? program;

  return {
    async run(argv: readonly string[], runOptions: RunOptions = {}): Promise<CommandResult> {
      const [program, ...args] = argv;
      if (program === undefined) throw new RangeError('argv must name a program');
      const binary = binFor(program);
      const started = performance.now();
      const stdio = runOptions.inheritStdio
        ? ({ stdin: 'inherit', stdout: 'inherit', stderr: 'inherit' } as const)
        : ({ stdin: runOptions.stdin === undefined ? 'ignore' : 'pipe', stdout: 'pipe', stderr: 'pipe' } as const);
      const result = await execa(binary, args, {
        reject: false,
        shell: false,
        encoding: 'buffer',
        stripFinalNewline: false,
        env: { ...baseEnv, ...runOptions.env },
        extendEnv: false,
        ...(runOptions.stdin !== undefined && !runOptions.inheritStdio ? { input: toBytes(runOptions.stdin) } : {}),
        ...stdio,
        ...(runOptions.timeoutMs !== undefined ? { timeout: runOptions.timeoutMs } : {}),
        ...(runOptions.signal ? { cancelSignal: runOptions.signal } : {}),
        maxBuffer: 64 * 1024 * 1024,
      });
      const durationMs = performance.now() - started;
      const code = (result as { code?: string }).code;
      if (result.failed && result.exitCode === undefined && (code === 'ENOENT' || code === 'EACCES')) {
        throw new BinaryNotFoundError(binary, [binary, ...args], INSTALL_HINTS[program] ?? `Install ${program} or put it on PATH.`, {
          cause: result,
        });
      }
      const stdoutBytes = bytesOf(result.stdout);
      return {
        argv: [program, ...args],
        exitCode:
          result.timedOut || result.isCanceled ? -1 : (result.exitCode ?? (result.signal ? 128 + signalNumber(result.signal) : -1)),
        stdout: decoder.decode(stdoutBytes),
        stderr: decoder.decode(bytesOf(result.stderr)),
        stdoutBytes,
        durationMs,
        timedOut: result.timedOut === true,
      };
    },
  };
}

function toBytes(input: string | Uint8Array): Uint8Array {
  return typeof input === 'string' ? new TextEncoder().encode(input) : input;
}

function bytesOf(value: unknown): Uint8Array {
  return value instanceof Uint8Array ? value : new Uint8Array();
}

function signalNumber(signal: string): number {
  const numbers: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15, SIGPIPE: 13 };
  return numbers[signal] ?? 0;
}
