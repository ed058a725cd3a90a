/**
 * Guest env values smolvm cannot carry. `-e KEY` makes smolvm read the value from its own
 * environment (`src/util.rs::parse_env_spec`: `std::env::var(KEY)`), and smolvm has no env-file,
 * so every value passes through the environment of the smolvm process itself. A name smolvm,
 * its wrapper or the spawn reads would then change how smolvm runs: a guest HOME or XDG_DATA_HOME
 * points it at another machine database (`dirs::data_local_dir()/smolvm`), a guest PATH makes the
 * spawn miss the binary ("Install smolvm"). Such names are refused before anything is spawned.
 * (`--secret-env GUEST=HOSTVAR` would rename, but a machine records it as a reference resolved
 * when its workload launches, not at create (smolvm-cli.md, `secret_refs`), and the fake does
 * not model it.)
 */
import { type CliEnvNames, spawnEnvNames } from '../../engine/env.ts';
import type { ConfigIssue } from '../../engine/types.ts';
import { ConfigError } from '../../errors.ts';

/**
 * The spawn's names and the loader's, plus: `SMOLVM_*` (`SMOLVM_DATA_DIR` moves all state,
 * `SMOLVM_AGENT_ROOTFS`, `SMOLVM_BIN`), `RUST_*` (`RUST_LOG` adds log lines to stderr, which
 * carries the guest's), macOS's `DYLD_*`, and what bash reads before running the
 * `#!/usr/bin/env bash` wrapper that installs as `smolvm` (scripts/smolvm-wrapper.sh): `BASH_ENV`
 * is sourced, `BASH_FUNC_*` become functions over its `dirname`/`readlink`, `SHELLOPTS`/`BASHOPTS`
 * set options, `CDPATH` steers its `cd`.
 *
 * Not proxies or `SSL_CERT_*`, unlike the container CLIs: `create` and `exec` make no connection
 * of their own (images are pulled at `start`, which carries no guest env), and a bottle sets
 * those names on every exec (its egress proxy and CA).
 */
export const isSmolvmCliEnvName: CliEnvNames = spawnEnvNames(['SMOLVM_', 'RUST_', 'DYLD_', 'BASH_FUNC_'], ['BASH_ENV', 'SHELLOPTS', 'BASHOPTS', 'CDPATH']);

/** Why smolvm cannot carry `value` for `key`, or undefined. */
export function smolvmEnvProblem(key: string, value: string): string | undefined {
  if (isSmolvmCliEnvName(key))
    return `smolvm reads ${key} itself, and -e passes a guest value only through smolvm's own environment; set it in the image or in the guest command instead`;
  if (value.includes('\0')) return 'holds a NUL byte, which no environment can';
  return undefined;
}

export function smolvmEnvIssues(env: Readonly<Record<string, string>>): ConfigIssue[] {
  return Object.entries(env).flatMap(([key, value]) => {
    const problem = smolvmEnvProblem(key, value);
    return problem ? [{ path: `env.${key}`, message: problem }] : [];
  });
}

/** Throws a ConfigError naming every env entry smolvm cannot carry. */
export function checkSmolvmEnv(env: Readonly<Record<string, string>> = {}): void {
  const issues = smolvmEnvIssues(env);
  if (issues.length) throw new ConfigError(issues.map((i) => `${i.path}: ${i.message}`).join('\n'), issues);
}
