/**
 * The host side of a podman host route. netavark creates a network's bridge (and puts the
 * gateway address on it) only when the first container joins, but the bundle's daemons bind the
 * gateway before the machine exists. So the route makes the bridge itself, as netavark would
 * (same name, gateway address, up); netavark takes it over when the machine starts, and deletes
 * it when the network's last container leaves. A bridge no container ever joined is deleted
 * with the network.
 */
import { EngineCommandError } from '../../errors.ts';
import type { CommandResult, Transport } from '../../transport/types.ts';
import type { ContainerNetwork } from '../container/cli.ts';
import type { RouteHook } from '../container/engine.ts';

const IFACE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;
const ADDRESS = /^[0-9a-fA-F.:]+$/;

export function bridgeHook(transport: Transport): RouteHook {
  const ip = async (args: string[], accept: (r: CommandResult) => boolean = (r) => r.exitCode === 0): Promise<CommandResult> => {
    const result = await transport.run(['ip', ...args]);
    if (!accept(result)) {
      throw new EngineCommandError({
        kind: 'unknown',
        reason: `cannot set up the host side of a podman network (${result.stderr.trim().split('\n').at(-1) ?? `exit ${result.exitCode}`})`,
        argv: result.argv,
        exitCode: result.exitCode,
        stderr: result.stderr,
        stdout: result.stdout,
        timedOut: result.timedOut,
      });
    }
    return result;
  };
  return {
    async created(network) {
      const { iface, cidr } = bridgeOf(network);
      await ip(['link', 'add', 'name', iface, 'type', 'bridge'], (r) => r.exitCode === 0 || /File exists/.test(r.stderr));
      await ip(['addr', 'replace', cidr, 'dev', iface]);
      await ip(['link', 'set', iface, 'up']);
    },
    async removed(network) {
      if (!network.hostInterface || !network.gateway) return;
      const { iface } = bridgeOf(network);
      const gone = (r: CommandResult): boolean => r.exitCode !== 0 && /does not exist|Cannot find device/.test(r.stderr);
      const shown = await ip(['-o', 'addr', 'show', 'dev', iface], (r) => r.exitCode === 0 || gone(r));
      // Gone already: netavark deleted it with the network's last container.
      if (gone(shown)) return;
      const ours = shown.stdout.includes(` ${network.gateway}/`);
      // Made here but never given its address (a failure in between): a bridge without address or ports.
      const bare = async (): Promise<boolean> =>
        !/\binet6? /.test(shown.stdout.replace(/inet6 fe80:\S*/g, '')) && (await ip(['-o', 'link', 'show', 'master', iface])).stdout.trim() === '';
      if (ours || (await bare())) await ip(['link', 'del', iface], (r) => r.exitCode === 0 || gone(r));
    },
  };
}

function bridgeOf(network: ContainerNetwork): { iface: string; cidr: string } {
  const { hostInterface: iface, gateway, prefixLength } = network;
  if (!iface || !IFACE.test(iface) || !gateway || !ADDRESS.test(gateway) || prefixLength === undefined) {
    throw new EngineCommandError({
      kind: 'unknown',
      reason: `podman network ${network.name} names no usable bridge (interface ${String(iface)}, gateway ${String(gateway)}/${String(prefixLength)})`,
      argv: ['podman', 'network', 'inspect', network.name],
      exitCode: 0,
      stderr: '',
    });
  }
  return { iface, cidr: `${gateway}/${prefixLength}` };
}
