/**
 * The default transport, on `node:child_process` alone: no shell, a non-zero exit as a result
 * (never an exception), binaries from `<NAME>_BIN` or PATH, env values only in the child's
 * environment. It was execa's once; loading execa cost every CLI call ~12 ms, more than the rest
 * of `claude-bottle exec` together, for the few things used here (spawn, capture, timeout, abort).
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { BinaryNotFoundError } from '../errors.ts';
import type { CommandResult, RunOptions, Transport } from './types.ts';

export interface ProcessTransportOptions {
  /** Program name → binary path. Defaults: `smolvm` → `$SMOLVM_BIN`, `docker` → `$DOCKER_BIN`, `podman` → `$PODMAN_BIN` (any `<NAME>_BIN`), else the name on PATH. */
  readonly bins?: Readonly<Record<string, string>>;
  /** Base environment for every child; defaults to `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** A child's stdout or stderr past this is cut, and the child stopped: an engine never prints that much on purpose. */
export const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;
/** After a timeout or an abort, SIGTERM; this long after, SIGKILL. */
const KILL_GRACE_MS = 5_000;

const INSTALL_HINTS: Record<string, string> = {
  smolvm:
    'Install smolvm (https://smolmachines.com: `curl -sSL https://smolmachines.com/install.sh | bash`, or `brew install smol-machines/tap/smolvm`), or set SMOLVM_BIN to its path.',
  docker: 'Install Docker (e.g. `apt-get install docker.io`, or Docker Desktop), or set DOCKER_BIN to its path.',
  podman: 'Install Podman (e.g. `apt-get install podman`), or set PODMAN_BIN to its path.',
};

const decoder = new TextDecoder();

export function createProcessTransport(options: ProcessTransportOptions = {}): Transport {
  const baseEnv = options.env ?? process.env;
  const binFor = (program: string): string => options.bins?.[program] ?? baseEnv[`${program.toUpperCase()}_BIN`] ?? program;
  return {
    run(argv: readonly string[], runOptions: RunOptions = {}): Promise<CommandResult> {
      const [program, ...args] = argv;
      if (program === undefined) return Promise.reject(new RangeError('argv must name a program'));
      return runChild(binFor(program), program, args, baseEnv, runOptions);
    },
  };
}

function runChild(binary: string, program: string, args: readonly string[], baseEnv: ProcessTransportOptions['env'], o: RunOptions): Promise<CommandResult> {
  const started = performance.now();
  const env = Object.fromEntries(Object.entries({ ...baseEnv, ...o.env }).filter((e): e is [string, string] => e[1] !== undefined));
  const inherit = o.inheritStdio === true;
  const child = spawn(binary, args, {
    shell: false,
    env,
    stdio: inherit ? 'inherit' : [o.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let timedOut = false;
    let stopped = false;
    let note = '';
    let killTimer: NodeJS.Timeout | undefined;
    const stop = (why: string): void => {
      if (stopped) return;
      stopped = true;
      note ||= why;
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
      killTimer.unref();
    };
    const collect = (chunks: Buffer[], count: () => number, add: (n: number) => void) => (chunk: Buffer) => {
      if (count() + chunk.length > MAX_OUTPUT_BYTES) return stop(`claude-bottle: ${program} printed more than ${MAX_OUTPUT_BYTES} bytes; stopped`);
      add(chunk.length);
      chunks.push(chunk);
    };
    child.stdout?.on(
      'data',
      collect(
        out,
        () => outBytes,
        (n) => (outBytes += n),
      ),
    );
    child.stderr?.on(
      'data',
      collect(
        err,
        () => errBytes,
        (n) => (errBytes += n),
      ),
    );
    const onTimeout = (): void => {
      timedOut = true;
      stop('');
    };
    const timer = o.timeoutMs !== undefined ? setTimeout(onTimeout, o.timeoutMs) : undefined;
    const onAbort = (): void => stop('');
    if (o.signal?.aborted) onAbort();
    else o.signal?.addEventListener('abort', onAbort, { once: true });
    const cleanup = (): void => {
      if (timer) clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      o.signal?.removeEventListener('abort', onAbort);
    };

    child.once('error', (error: NodeJS.ErrnoException) => {
      cleanup();
      if (error.code === 'ENOENT' || error.code === 'EACCES') {
        reject(new BinaryNotFoundError(binary, [binary, ...args], INSTALL_HINTS[program] ?? `Install ${program} or put it on PATH.`, { cause: error }));
      } else reject(error);
    });
    child.once('close', (code, signal) => {
      cleanup();
      const stdoutBytes = new Uint8Array(Buffer.concat(out));
      const stderr = decoder.decode(Buffer.concat(err)) + (note ? `${note}\n` : '');
      resolve({
        argv: [program, ...args],
        // A timeout or an abort has no exit code of its own; a signal is 128 + its number, as a shell says it.
        exitCode: stopped ? -1 : (code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : -1)),
        stdout: decoder.decode(stdoutBytes),
        stderr,
        stdoutBytes,
        durationMs: performance.now() - started,
        timedOut,
      });
    });
    if (o.stdin !== undefined && !inherit && child.stdin) {
      // A child that exits without reading all of it closes the pipe: that is its answer, not ours to fail on.
      child.stdin.on('error', () => undefined);
      child.stdin.end(typeof o.stdin === 'string' ? Buffer.from(o.stdin) : o.stdin);
    }
  });
}
