/** The docker CLI as the shared container engine drives it. */
import type { ContainerCli, ParsedNetwork } from '../container/cli.ts';
import { array, nullish, object, optional, readJson, record, string, unknown } from '../container/json.ts';
import { DOCKER_ARGS } from './argv.ts';
import { isDockerCliEnvName } from './env.ts';
import { DockerError, dockerMissingBinary, isDockerFailure, isNoSuchDockerNetwork } from './errors.ts';

const NetworkJson = array(
  object({
    Id: string,
    Name: string,
    Labels: nullish(record(string)),
    IPAM: optional(object({ Config: nullish(array(object({ Subnet: optional(string), Gateway: optional(string) }))) })),
    Containers: nullish(record(unknown)),
    Options: nullish(record(string)),
  }),
);

/** docker names a user network's bridge `br-<first 12 of its id>` unless the network says otherwise. */
const BRIDGE_NAME_OPTION = 'com.docker.network.bridge.name';

export function parseDockerNetworks(stdout: string): ParsedNetwork[] {
  return readJson(stdout, NetworkJson, 'docker network inspect').map((n) => {
    const config = n.IPAM?.Config?.find((c) => c.Gateway);
    const prefixLength = config?.Subnet ? Number(config.Subnet.split('/')[1]) : undefined;
    return {
      id: n.Id,
      name: n.Name,
      labels: n.Labels ?? {},
      machines: Object.keys(n.Containers ?? {}).length,
      ...(config?.Gateway ? { gateway: config.Gateway } : {}),
      ...(prefixLength !== undefined && Number.isInteger(prefixLength) ? { prefixLength } : {}),
      ...(config?.Subnet ? { subnet: config.Subnet } : {}),
      hostInterface: n.Options?.[BRIDGE_NAME_OPTION] ?? `br-${n.Id.slice(0, 12)}`,
    };
  });
}

export const DOCKER_CLI: ContainerCli = {
  ...DOCKER_ARGS,
  kind: 'docker',
  isCliEnvName: isDockerCliEnvName,
  error: (result, override) => DockerError.fromResult(result, override),
  isExecFailure: isDockerFailure,
  missingBinary: dockerMissingBinary,
  isNoSuchNetwork: isNoSuchDockerNetwork,
  parseNetworks: parseDockerNetworks,
  loadHint: (image) => `\`docker pull ${image}\`, \`docker build -t ${image} …\` or \`docker load -i …\``,
};
