/** Where claude-bottle keeps what it can always make again: image tarballs, podman's containers.conf. */
import { isAbsolute, join, resolve } from 'node:path';
import { type Env, hostHome } from './state.ts';

export const CACHE_DIR_ENV = 'CLAUDE_BOTTLE_CACHE_DIR';

/** `$CLAUDE_BOTTLE_CACHE_DIR`, else `$XDG_CACHE_HOME/claude-bottle`, else `~/.cache/claude-bottle`. */
export function cacheRoot(env: Env = process.env): string {
  const explicit = env[CACHE_DIR_ENV];
  if (explicit && isAbsolute(explicit)) return resolve(explicit);
  const xdg = env.XDG_CACHE_HOME;
  return xdg && isAbsolute(xdg) ? join(xdg, 'claude-bottle') : join(hostHome(env), '.cache', 'claude-bottle');
}
