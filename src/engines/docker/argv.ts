/** docker's argv: the shared container-CLI builder for the `docker` binary, which keeps a tar's owners as it is. */
import { type ContainerCliArgs, containerArgv } from '../container/argv.ts';

export const DOCKER = 'docker';

export const DOCKER_ARGS: ContainerCliArgs = { program: DOCKER, copyInFlags: [], networkCreateFlags: [] };

export const dockerArgv = {
  ...containerArgv(DOCKER_ARGS),
  info: (): string[] => [DOCKER, 'info', '--format', '{{json .ServerVersion}}'],
  /** The server's version, or the CLI's error when no engine answers. */
  serverVersion: (): string[] => [DOCKER, 'version', '--format', '{{.Server.Version}}'],
};
