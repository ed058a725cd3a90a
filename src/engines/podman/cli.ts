/** The podman CLI as the shared container engine drives it. */
import type { ContainerCli, ParsedNetwork } from '../container/cli.ts';
import { cliEnvNames } from '../container/env.ts';
import { array, nullish, object, optional, readJson, record, string } from '../container/json.ts';
import { PODMAN_ARGS } from './argv.ts';
import { isNoSuchPodmanNetwork, isPodmanFailure, PodmanError, podmanMissingBinary } from './errors.ts';

/** Names podman (and its libraries: containers/common, storage, image) read from its own environment. */
const isPodmanCliEnvName = cliEnvNames(
  ['CONTAINERS_', 'CONTAINER_', 'PODMAN_', 'BUILDAH_', 'STORAGE_', 'REGISTRIES_'],
  ['REGISTRY_AUTH_FILE', 'NOTIFY_SOCKET'],
);

// podman 4.x (netavark): lower-case keys, subnets with their gateway, no attached containers.
const NetworkJson = array(
  object({
    id: string,
    name: string,
    labels: nullish(record(string)),
    network_interface: optional(string),
    subnets: nullish(array(object({ subnet: string, gateway: optional(string) }))),
  }),
);

export function parsePodmanNetworks(stdout: string): ParsedNetwork[] {
  return readJson(stdout, NetworkJson, 'podman network inspect').map((n) => {
    const subnet = n.subnets?.find((s) => s.gateway);
    const prefixLength = subnet ? Number(subnet.subnet.split('/')[1]) : undefined;
    // (An internal network without DNS has no gateway: see PodmanEngine.createRouteNetwork.)
    return {
      id: n.id,
      name: n.name,
      labels: n.labels ?? {},
      ...(subnet?.gateway ? { gateway: subnet.gateway } : {}),
      ...(prefixLength !== undefined && Number.isInteger(prefixLength) ? { prefixLength } : {}),
      ...(n.subnets?.[0] ? { subnet: n.subnets[0].subnet } : {}),
      ...(n.network_interface ? { hostInterface: n.network_interface } : {}),
    };
  });
}

export const PODMAN_CLI: ContainerCli = {
  ...PODMAN_ARGS,
  kind: 'podman',
  isCliEnvName: isPodmanCliEnvName,
  error: (result, override) => PodmanError.fromResult(result, override),
  isExecFailure: isPodmanFailure,
  missingBinary: podmanMissingBinary,
  isNoSuchNetwork: isNoSuchPodmanNetwork,
  parseNetworks: parsePodmanNetworks,
  loadHint: (image) => `\`podman pull ${image}\`, \`podman build -t ${image} …\`, \`podman load -i …\` or \`docker save ${image} | podman load\``,
};
