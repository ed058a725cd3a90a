/**
 * How guest environment values reach a container CLI without entering argv.
 *
 * `-e KEY` makes the CLI copy KEY from its own environment, so the value must be set in the
 * CLI's environment. For names the CLI (or the spawn) itself reads — PATH, HOME, DOCKER_*,
 * CONTAINERS_*, proxies, the loader — that would change how it runs (which binary, which config
 * and context, which daemon), so those go through a private `--env-file` instead.
 */
import type { CliEnvNames } from '../../engine/env.ts';
import { ConfigError } from '../../errors.ts';
import { checkEnvKey } from './argv.ts';

// The list is shared with smolvm, which must refuse these names (it has no env-file).
export { type CliEnvNames, cliEnvNames } from '../../engine/env.ts';

/**
 * Why `program` cannot carry `value` for `key`, or undefined: no environment holds a NUL, and
 * the env-file that names the CLI reads itself go through has no escape for line breaks.
 */
export function envValueProblem(isCliName: CliEnvNames, program: string, key: string, value: string): string | undefined {
  if (value.includes('\0')) return 'holds a NUL byte';
  if (isCliName(key) && /[\n\r]/.test(value)) return `holds a line break, which ${key} can only travel with in ${program}'s env-file, and that has no escapes`;
  return undefined;
}

export interface EnvDelivery {
  /** `-e KEY` names whose values go in `cliEnv`. */
  readonly keys: readonly string[];
  /** Layered onto the CLI's environment for this one call. */
  readonly cliEnv: Readonly<Record<string, string>>;
  /** `KEY=value` lines for `--env-file`, or undefined when no name needs one. */
  readonly envFile: string | undefined;
}

export function planEnv(isCliName: CliEnvNames, program: string, env: Readonly<Record<string, string>> = {}): EnvDelivery {
  const keys: string[] = [];
  const cliEnv: Record<string, string> = {};
  const fileLines: string[] = [];
  for (const [key, value] of Object.entries(env)) {
    checkEnvKey(key);
    const problem = envValueProblem(isCliName, program, key, value);
    if (problem) throw new ConfigError(`env.${key}: ${program} cannot carry this value: it ${problem}`, [{ path: `env.${key}`, message: problem }]);
    if (isCliName(key)) {
      fileLines.push(`${key}=${value}\n`);
    } else {
      keys.push(key);
      cliEnv[key] = value;
    }
  }
  return { keys, cliEnv, envFile: fileLines.length > 0 ? fileLines.join('') : undefined };
}
