/**
 * Where claude-bottle keeps host state: one private directory per agent (its prompt file),
 * next to the bottles registry. Everything here is 0700/0600: prompts and env may be secret.
 */
import { homedir as osHomedir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { ConfigError } from '../errors.ts';
import { errnoCode, type HostFileHandle, type HostFs, nodeHostFs } from './fs.ts';

export type Env = Readonly<Record<string, string | undefined>>;

export const STATE_DIR_ENV = 'CLAUDE_BOTTLE_STATE_DIR';
export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** The host user's home: `$HOME` from `env` when set, so an injected env is enough for tests. */
export function hostHome(env: Env = process.env): string {
  return env.HOME || osHomedir();
}

/**
 * The `claude-bottle` state dir: `$CLAUDE_BOTTLE_STATE_DIR`, else `$XDG_STATE_HOME/claude-bottle`,
 * else `~/.local/state/claude-bottle`. Holds `agents/<slug>` and the bottles registry.
 */
export function stateRoot(env: Env = process.env, homedir: string = hostHome(env)): string {
  const explicit = env[STATE_DIR_ENV];
  if (explicit) {
    // A relative (or unexpanded `~`) state dir would silently move with the working directory.
    if (!isAbsolute(explicit)) {
      const message = `${JSON.stringify(explicit)} is not an absolute path`;
      throw new ConfigError(`${STATE_DIR_ENV}: ${message}`, [{ path: STATE_DIR_ENV, message }]);
    }
    return resolve(explicit);
  }
  const xdg = env.XDG_STATE_HOME;
  // The XDG spec says a relative value is invalid and must be ignored.
  if (xdg && isAbsolute(xdg)) return join(resolve(xdg), 'claude-bottle');
  return join(homedir, '.local', 'state', 'claude-bottle');
}

/** Creates `path` (and missing parents) 0700, and tightens an existing dir to 0700. */
export async function ensureDir(path: string, fs: Pick<HostFs, 'mkdir' | 'stat' | 'chmod'> = nodeHostFs): Promise<void> {
  try {
    await fs.mkdir(path, { recursive: true, mode: PRIVATE_DIR_MODE });
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'EEXIST' || code === 'ENOTDIR') throw new ConfigError(`${path}: exists and is not a directory`);
    throw error;
  }
  const stats = await fs.stat(path);
  if (!stats.isDirectory()) throw new ConfigError(`${path}: exists and is not a directory`);
  if ((Number(stats.mode) & 0o777) !== PRIVATE_DIR_MODE) await fs.chmod(path, PRIVATE_DIR_MODE);
}

export interface WriteFileAtomicOptions {
  /** Defaults to 0600. */
  readonly mode?: number;
  readonly fs?: Pick<HostFs, 'open' | 'rename' | 'unlink'> | undefined;
}

/**
 * Readers see the old file or the new one, never a partial one: write a temp file in the same
 * dir (created with `mode`, never more open), flush it, then rename over `path`. On failure the
 * temp file is removed and `path` is untouched.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string, options: WriteFileAtomicOptions = {}): Promise<void> {
  const fs = options.fs ?? nodeHostFs;
  const mode = options.mode ?? PRIVATE_FILE_MODE;
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  // node:crypto loaded on first use: most commands import this module and never write.
  const temp = join(dirname(path), `.${basename(path)}.${process.getBuiltinModule('node:crypto').randomBytes(6).toString('hex')}.tmp`);
  let created = false;
  let handle: HostFileHandle | undefined;
  try {
    // `wx`: never reuse (or follow a symlink planted at) an existing name.
    handle = await fs.open(temp, 'wx', mode);
    created = true;
    await handle.writeFile(bytes);
    // open's mode is filtered by the umask; set it exactly.
    await handle.chmod(mode);
    await handle.datasync();
    const open = handle;
    handle = undefined;
    await open.close();
    await fs.rename(temp, path);
  } catch (error) {
    await handle?.close().catch(() => undefined);
    if (created) await fs.unlink(temp).catch(() => undefined);
    throw error;
  }
}
