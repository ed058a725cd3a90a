/**
 * Which environment names an engine CLI reads itself. Every engine takes a guest value as `-e KEY`
 * and copies it from its own environment, so a guest value under such a name would also change
 * how the CLI runs: which binary the spawn finds (PATH), which state and config it reads (HOME,
 * XDG_*), what the loader preloads (LD_*). The container CLIs send those names through an
 * env-file instead (../engines/container/env.ts); smolvm has none and refuses them.
 */

/** Whether the CLI (or the spawn) reads this name itself. */
export type CliEnvNames = (key: string) => boolean;

/** What the spawn of any program reads: PATH to find it; HOME, TMPDIR and the XDG dirs for its own files. */
const SPAWN_NAMES = ['PATH', 'HOME', 'TMPDIR', 'XDG_CONFIG_HOME', 'XDG_RUNTIME_DIR', 'XDG_DATA_HOME'];

/** The spawn's names and the loader's `LD_*`, plus the given prefixes and names. */
export function spawnEnvNames(prefixes: readonly string[], names: readonly string[] = []): CliEnvNames {
  const exact = new Set([...SPAWN_NAMES, ...names]);
  const prefixed = new RegExp(`^(${['LD_', ...prefixes].map((p) => p.replace(/[^A-Z0-9_]/g, '')).join('|')})`);
  return (key) => exact.has(key) || prefixed.test(key);
}

/**
 * A CLI that talks to a daemon or a registry: the spawn's names, plus the TLS trust (`SSL_CERT_*`)
 * and proxies it connects with, and the given prefixes and names.
 */
export function cliEnvNames(prefixes: readonly string[], names: readonly string[] = []): CliEnvNames {
  const spawn = spawnEnvNames(['SSL_CERT_', ...prefixes], names);
  return (key) => spawn(key) || /_proxy$/i.test(key);
}
