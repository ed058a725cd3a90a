/**
 * How guest environment values reach the docker CLI without entering argv.
 *
 * `-e KEY` makes the CLI copy KEY from its own environment, so the value must be set in the
 * CLI's environment. For names the CLI (or the spawn) itself reads — PATH, HOME, DOCKER_*,
 * proxies, the loader — that would change how docker runs (which binary, which config and
 * context, which daemon), so those go through a private `--env-file` instead.
 */
import { ConfigError } from '../../errors.ts';
import { checkEnvKey } from './argv.ts';

const CLI_NAMES = new Set(['PATH', 'HOME', 'TMPDIR', 'XDG_CONFIG_HOME', 'XDG_RUNTIME_DIR']);

export function isDockerCliEnvName(key: string): boolean {
  return CLI_NAMES.has(key) || /^(DOCKER_|LD_|SSL_CERT_)/.test(key) || /_proxy$/i.test(key);
}

export interface EnvDelivery {
  /** `-e KEY` names whose values go in `cliEnv`. */
  readonly keys: readonly string[];
  /** Layered onto the docker CLI's environment for this one call. */
  readonly cliEnv: Readonly<Record<string, string>>;
  /** `KEY=value` lines for `--env-file`, or undefined when no name needs one. */
  readonly envFile: string | undefined;
}

export function planEnv(env: Readonly<Record<string, string>> = {}): EnvDelivery {
  const keys: string[] = [];
  const cliEnv: Record<string, string> = {};
  const fileLines: string[] = [];
  for (const [key, value] of Object.entries(env)) {
    checkEnvKey(key);
    if (isDockerCliEnvName(key)) {
      // The env-file format is one `KEY=value` per line with no escapes.
      if (/[\n\r\0]/.test(value)) {
        throw new ConfigError(`environment variable ${key} cannot carry a line break or NUL on the docker engine`, [
          { path: `env.${key}`, message: 'line break or NUL' },
        ]);
      }
      fileLines.push(`${key}=${value}\n`);
    } else {
      keys.push(key);
      cliEnv[key] = value;
    }
  }
  return { keys, cliEnv, envFile: fileLines.length > 0 ? fileLines.join('') : undefined };
}
