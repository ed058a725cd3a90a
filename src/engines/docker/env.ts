/** The names the docker CLI reads itself (see ../container/env.ts for why they go in an env-file). */
import { cliEnvNames } from '../container/env.ts';

export const isDockerCliEnvName = cliEnvNames(['DOCKER_']);
