/**
 * pipelock as a bundle daemon: write the generated config (0600), run `pipelock run --config
 * <file>`, wait (bounded) until it answers `GET /health` on its listen address, and stop it with SIGTERM
 * (SIGKILL after a grace period). pipelock is an external binary no registry here ships:
 * `findPipelock` looks at `PIPELOCK_BIN`, then PATH; a missing one is a `PipelockMissingError`.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { get } from 'node:http';
import { delimiter, join, resolve } from 'node:path';
import { writeFileAtomic } from '../../host/state.ts';
import { hostForUrl, type DaemonSpec } from '../../daemon/daemon.ts';
import { spawnTethered } from '../../daemon/tether.ts';
import { ClaudeBottleError } from '../../errors.ts';
import { pipelockConfigYaml, type PipelockConfigInput } from './config.ts';

export const PIPELOCK_BIN_ENV = 'PIPELOCK_BIN';
export const PIPELOCK_CONFIG_FILE = 'pipelock.yaml';
export const PIPELOCK_INSTALL_HINT =
  'install it (go install github.com/luckyPipewrench/pipelock/cmd/pipelock@latest, `brew install luckyPipewrench/tap/pipelock`, ' +
  'or a release from https://github.com/luckyPipewrench/pipelock/releases) or set PIPELOCK_BIN to its path';

type Env = Readonly<Record<string, string | undefined>>;

/** pipelock is needed (an egress plan) but is not there. */
export class PipelockMissingError extends ClaudeBottleError {
  override name = 'PipelockMissingError';
  readonly binary: string;
  constructor(binary: string, detail: string) {
    super(`pipelock is needed for this plan's egress proxy but ${detail}: ${PIPELOCK_INSTALL_HINT}`);
    this.binary = binary;
  }
}

/** pipelock started but exited, or did not answer in time. */
export class PipelockStartError extends ClaudeBottleError {
  override name = 'PipelockStartError';
  readonly stderr: string;
  constructor(message: string, stderr: string) {
    super(`${message}${stderr.trim() ? `\n${stderr.trim().split('\n').slice(-20).join('\n')}` : ''}`);
    this.stderr = stderr;
  }
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function searchPath(name: string, env: Env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (isExecutableFile(candidate)) return resolve(candidate);
  }
  return undefined;
}

/** `PIPELOCK_BIN` (a path, or a name looked up on PATH), else `pipelock` on PATH; undefined when none is executable. */
export function findPipelock(env: Env = process.env): string | undefined {
  const configured = env[PIPELOCK_BIN_ENV];
  if (configured) {
    if (configured.includes('/')) return isExecutableFile(configured) ? resolve(configured) : undefined;
    return searchPath(configured, env);
  }
  return searchPath('pipelock', env);
}

/** Like `findPipelock`, but a missing binary is a PipelockMissingError saying where it looked. */
export function requirePipelock(env: Env = process.env): string {
  const found = findPipelock(env);
  if (found) return found;
  const configured = env[PIPELOCK_BIN_ENV];
  throw configured
    ? new PipelockMissingError(configured, `${PIPELOCK_BIN_ENV}=${configured} is not an executable file`)
    : new PipelockMissingError('pipelock', '`pipelock` is not on PATH');
}

export interface PipelockDaemonOptions {
  /** The binary; default `requirePipelock(env)`, checked when the daemon spec is made. */
  readonly bin?: string;
  readonly env?: Env;
  /** Host dir for the generated config (created 0700 if missing); e.g. the bottle's state dir. */
  readonly configDir: string;
  /** How long pipelock may take to accept connections; default 15 s. */
  readonly readyTimeoutMs?: number;
  /** SIGTERM grace before SIGKILL; default 5 s. */
  readonly stopTimeoutMs?: number;
}

export interface PipelockDaemonSpec extends DaemonSpec {
  readonly name: 'pipelock';
  readonly bin: string;
  /** Where the config is written once started. */
  readonly configPath: string;
}

/** pipelock's documented health endpoint answers 200 `{"status":"healthy",…}` once it serves. */
function isHealthy(host: string, port: number): Promise<boolean> {
  return new Promise((done) => {
    const req = get({ host, port, path: '/health', timeout: 1000, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => done(res.statusCode === 200 && /"status"\s*:\s*"healthy"/.test(body)));
      res.on('error', () => done(false));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => done(false));
  });
}

/** The egress proxy as a bundle daemon: `start(host, port)` binds pipelock to exactly `host:port`. */
export function pipelockDaemon(config: Omit<PipelockConfigInput, 'listen'>, options: PipelockDaemonOptions): PipelockDaemonSpec {
  const env = options.env ?? process.env;
  const bin = options.bin ?? requirePipelock(env);
  const configPath = join(options.configDir, PIPELOCK_CONFIG_FILE);
  const readyTimeoutMs = options.readyTimeoutMs ?? 15_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 5_000;
  return {
    name: 'pipelock',
    bin,
    configPath,
    async start(host, port) {
      const yaml = pipelockConfigYaml({ ...config, listen: { host, port } });
      await mkdir(options.configDir, { recursive: true, mode: 0o700 });
      await writeFileAtomic(configPath, yaml, { mode: 0o600 });
      const argv = ['run', '--config', configPath];
      let stderr = '';
      // Tethered: pipelock dies with this process, even when it is SIGKILLed.
      const child = spawnTethered(bin, argv, {
        env: { ...env } as NodeJS.ProcessEnv,
        stderr: (chunk) => {
          stderr = (stderr + chunk).slice(-64 * 1024);
        },
      });
      const kill = (): Promise<void> => child.stop(stopTimeoutMs);
      const deadline = Date.now() + readyTimeoutMs;
      for (;;) {
        if (child.exited()) {
          const code = child.process.exitCode;
          // The watchdog's sh says 126/127 when the binary cannot be run at all.
          if (code === 126 || code === 127) throw new PipelockMissingError(bin, `${bin} cannot be run (exit ${code})`);
          throw new PipelockStartError(
            `pipelock exited (${code ?? child.process.signalCode}) before listening on ${host}:${port}: ${bin} ${argv.join(' ')}`,
            stderr,
          );
        }
        if (await isHealthy(host, port)) break;
        if (Date.now() > deadline) {
          await kill();
          throw new PipelockStartError(`pipelock did not listen on ${host}:${port} within ${readyTimeoutMs} ms`, stderr);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      let stopped: Promise<void> | undefined;
      return { url: `http://${hostForUrl(host)}:${port}`, stop: () => (stopped ??= kill()) };
    },
  };
}
