/**
 * The host side of a podman host route. netavark creates a network's bridge (and puts the
 * gateway address on it) only when the first container joins, but the bundle's daemons bind the
 * gateway before the machine exists. So the route makes the bridge itself, as netavark would
 * (same name, gateway address, up); netavark takes it over when the machine starts, and deletes
 * it when the network's last container leaves. A bridge no container ever joined is deleted
 * with the network.
 *
 * The bridge is marked as this launch's (its alias, `claude-bottle.launch=<id>`), and that mark
 * is what removal reads back: an interface of that name which is not ours (one that existed
 * before, or one another network got after ours went) is never touched.
 */
import { LAUNCH_ID } from '../../engine/ownership.ts';
import { LAUNCH_LABEL } from '../../engine/types.ts';
import { EngineCommandError } from '../../errors.ts';
import type { CommandResult, Transport } from '../../transport/types.ts';
import type { ParsedNetwork } from '../container/cli.ts';
import type { RouteHook } from '../container/routes.ts';

const IFACE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;
const ADDRESS = /^[0-9a-fA-F.:]+$/;

/** The alias that marks a bridge as made by this launch's route. */
export function bridgeAlias(launchId: string): string {
  return `${LAUNCH_LABEL}=${launchId}`;
}

export function bridgeHook(transport: Transport): RouteHook {
  const fail = (result: CommandResult, reason: string): EngineCommandError =>
    new EngineCommandError({
      kind: 'unknown',
      reason,
      argv: result.argv,
      exitCode: result.exitCode,
      stderr: result.stderr,
      stdout: result.stdout,
      timedOut: result.timedOut,
    });
  const lastLine = (r: CommandResult): string => r.stderr.trim().split('\n').at(-1) ?? `exit ${r.exitCode}`;
  const gone = (r: CommandResult): boolean => r.exitCode !== 0 && /does not exist|Cannot find device/.test(r.stderr);
  return {
    async created(network) {
      const { iface, alias } = markOf(network);
      const cidr = cidrOf(network);
      // One call: `ip -batch` stops at the first failure, so an existing interface is never marked, addressed or brought up.
      const made = await transport.run(['ip', '-batch', '-'], {
        stdin: [
          `link add name ${iface} type bridge`,
          `link set dev ${iface} alias ${alias}`,
          // No IPv6 link-local address for the guest to reach the host at (the firewall is IPv4 only).
          `link set dev ${iface} addrgenmode none`,
          `addr replace ${cidr} dev ${iface}`,
          `link set dev ${iface} up`,
          '',
        ].join('\n'),
      });
      if (made.exitCode === 0) return;
      const failedAt = Number(/Command failed -:(\d+)/.exec(made.stderr)?.[1] ?? 1);
      if (failedAt === 1 && /File exists/.test(made.stderr)) {
        const reason = `podman network ${network.name} names bridge ${iface}, but an interface of that name already exists and is not this launch's: left alone`;
        throw fail(made, reason);
      }
      // Made by this very call, then a later line failed (its mark among them): it goes again at once.
      if (failedAt > 1) await transport.run(['ip', 'link', 'del', 'dev', iface]);
      throw fail(made, `cannot set up the host side of a podman network (${made.stderr.trim().split('\n')[0] || `exit ${made.exitCode}`})`);
    },
    async removed(network) {
      const { iface, alias } = markOf(network);
      const shown = await transport.run(['ip', '-o', 'link', 'show', 'dev', iface]);
      // Gone already: netavark deleted it with the network's last container.
      if (gone(shown)) return;
      if (shown.exitCode !== 0) throw fail(shown, `cannot read the host side of a podman network (${lastLine(shown)})`);
      if (aliasOf(shown.stdout) !== alias) return;
      const deleted = await transport.run(['ip', 'link', 'del', 'dev', iface]);
      if (deleted.exitCode !== 0 && !gone(deleted)) throw fail(deleted, `cannot remove the host side of a podman network (${lastLine(deleted)})`);
    },
  };
}

/** The alias in one line of `ip -o link show` (its last field), or undefined. */
export function aliasOf(line: string): string | undefined {
  return /\\?\s+alias (.*)$/.exec(line.trim())?.[1]?.trim();
}

/** The bridge's name and the mark that makes it this launch's. */
function markOf(network: ParsedNetwork): { iface: string; alias: string } {
  const { hostInterface: iface } = network;
  const launchId = network.labels[LAUNCH_LABEL];
  if (!iface || !IFACE.test(iface) || !launchId || !LAUNCH_ID.test(launchId)) throw unusable(network, `interface ${String(iface)}, launch ${String(launchId)}`);
  return { iface, alias: bridgeAlias(launchId) };
}

/** The gateway's address with its prefix, as the bridge carries it. */
function cidrOf(network: ParsedNetwork): string {
  const { gateway, prefixLength } = network;
  if (!gateway || !ADDRESS.test(gateway) || prefixLength === undefined) throw unusable(network, `gateway ${String(gateway)}/${String(prefixLength)}`);
  return `${gateway}/${prefixLength}`;
}

function unusable(network: ParsedNetwork, what: string): EngineCommandError {
  return new EngineCommandError({
    kind: 'unknown',
    reason: `podman network ${network.name} names no usable bridge (${what})`,
    argv: ['podman', 'network', 'inspect', network.name],
    exitCode: 0,
    stderr: '',
  });
}
