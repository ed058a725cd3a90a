/** The names the docker CLI reads itself (see ../container/env.ts for why they go in an env-file). */
import { cliEnvNames, type EnvDelivery, envValueProblem as problemFor, planEnv as plan } from '../container/env.ts';

export const isDockerCliEnvName = cliEnvNames(['DOCKER_']);

export function envValueProblem(key: string, value: string): string | undefined {
  return problemFor(isDockerCliEnvName, 'docker', key, value);
}

export function planEnv(env: Readonly<Record<string, string>> = {}): EnvDelivery {
  return plan(isDockerCliEnvName, 'docker', env);
}
