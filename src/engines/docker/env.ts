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

/**
 * Why docker cannot carry `value` for `key`, or undefined: no environment holds a NUL, and the
 * env-file that names the CLI reads itself go through has no escape for line breaks.
 */
export function envValueProblem(key: string, value: string): string | undefined {
  if (value.includes('\0')) return 'holds a NUL byte';
  if (isDockerCliEnvName(key) && /[\n\r]/.test(value)) return `holds a line break, which ${key} can only travel with in docker's env-file, and that has no escapes`;
  return undefined;
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
    const problem = envValueProblem(key, value);
    if (problem) throw new ConfigError(`env.${key}: docker cannot carry this value: it ${problem}`, [{ path: `env.${key}`, message: problem }]);
    if (isDockerCliEnvName(key)) {
      fileLines.push(`${key}=${value}\n`);
    } else {
      keys.push(key);
      cliEnv[key] = value;
    }
  }
  return { keys, cliEnv, envFile: fileLines.length > 0 ? fileLines.join('') : undefined };
}
