/**
 * Per-bottle host firewall rules for a bridge network (Docker's, and a podman adapter's alike):
 * traffic from a container to a host address goes through the host's INPUT chain, not FORWARD,
 * so an `--internal` network alone still lets its guest reach every host service listening on
 * `0.0.0.0` at the network's gateway, and lets any other container reach the bottle's daemons
 * there. One chain per launch, `CB-<launch id>`, every rule tagged with a comment carrying the
 * launch id and the engine (`claude-bottle.launch=<id>@docker`), jumped to from INPUT:
 *
 *   -I INPUT -i <bridge> -j CB-…                        everything the bottle sends to the host
 *   -I INPUT -d <gateway> -p tcp --dport <port> -j CB-… anything sent to a daemon's port (one per daemon)
 *   CB-…: -i lo -j RETURN           the host's own processes (the launcher, its probes)
 *         -i <bridge> -d <gateway> -p tcp --dport <daemon port> -j ACCEPT   (one per daemon)
 *         -j REJECT                 the rest
 *
 * Every jump names something of this launch only (its bridge, its daemons' ports), so rules
 * left behind by a network removed behind claude-bottle's back never catch another network that
 * later reuses the subnet, beyond those few ports.
 *
 * `install` (deny all) runs before the daemons bind; `allow` opens exactly their ports before
 * the machine is created, and answers the `closeScript` that shuts them again (the launcher
 * leaves it to run should it die with its daemons); `remove` takes the chain away with the
 * network. Each change is one atomic `iptables-restore --noflush`. Everything goes through the engine's Transport, so tests
 * script it. IPv6 needs no rules: every machine on a route's network is created with IPv6 off in
 * its own namespace (`--sysctl …disable_ipv6=1`, which the guest cannot undo), on Docker and
 * Podman alike, rather than trusting an engine's default (netavark leaves it on); the boundary
 * tests attack it.
 *
 * Removal reads the rules back and deletes only what carries this launch's tag: the jumps that
 * are tagged, and the chain when every rule in it is (a namesake chain is someone else's). Docker
 * and Podman share the host's rules: each lists and removes only the rules its own tag names, so
 * a prune of one never takes a live bottle of the other's for a leftover.
 */
import { LAUNCH_ID } from '../../engine/ownership.ts';
import type { RouteCloser, RouteLeftover } from '../../engine/types.ts';
import { BinaryNotFoundError, EngineCommandError } from '../../errors.ts';
import type { CommandResult, Transport } from '../../transport/types.ts';

/**
 * The comment every rule carries: `claude-bottle.launch=<id>@<engine>`. The host's rules are
 * shared by Docker and Podman; the engine in the tag is what keeps one from taking the other's
 * rules for leftovers.
 */
export const RULE_TAG = 'claude-bottle.launch';
const OWNER = /^[a-z][a-z0-9-]{0,15}$/;

/** The comment value of launch `launchId`'s rules made by engine `owner`. */
export function ruleTag(launchId: string, owner: string): string {
  return `${RULE_TAG}=${launchId}@${checkOwner(owner)}`;
}

/** An engine name fit for a rule's comment and a regex: what every entry point checks first. */
function checkOwner(owner: string): string {
  if (!OWNER.test(owner)) throw new Error(`firewall: refusing an owner ${JSON.stringify(owner)}`);
  return owner;
}
const CHAIN_PREFIX = 'CB-';
/** iptables chain names are at most 28 characters. */
const MAX_CHAIN = 28;

/** What the rules of one route need: whose they are, the bridge interface, the gateway address. */
export interface BridgeRoute {
  readonly launchId: string;
  readonly bridge: string;
  readonly gateway: string;
}

/** The small interface engines use; `IptablesFirewall` is the one implementation. */
export interface HostFirewall {
  /** Throws a `FirewallUnavailableError` naming what is missing; creates nothing. */
  check(): Promise<void>;
  /** Deny everything from the bridge to the host, and everything to the gateway from elsewhere. */
  install(route: BridgeRoute): Promise<void>;
  /** Replace the chain's rules so the bridge reaches exactly `ports` (TCP) on the gateway; answers the command closing them again. */
  // biome-ignore lint/suspicious/noConfusingVoidType: implementations answering nothing (`Promise<void>`) stay valid.
  allow(route: BridgeRoute, ports: readonly number[]): Promise<RouteCloser | void>;
  /** Removes the launch's chain and jumps (this engine's); false when there were none. Idempotent. */
  remove(launchId: string): Promise<boolean>;
  /** Every launch that has rules here made by this firewall's engine. */
  list(): Promise<RouteLeftover[]>;
}

/** Rules cannot be installed here: the message says what is missing and what to do. */
export class FirewallUnavailableError extends EngineCommandError {
  override name = 'FirewallUnavailableError';
}

/** `CB-<launch id>`, or `CB-<24 hex of its sha256>` for an id too long for a chain name. */
export function chainName(launchId: string): string {
  const direct = `${CHAIN_PREFIX}${launchId}`;
  return direct.length <= MAX_CHAIN
    ? direct
    : `${CHAIN_PREFIX}${process
        .getBuiltinModule('node:crypto')
        .createHash('sha256')
        .update(launchId)
        .digest('hex')
        .slice(0, MAX_CHAIN - CHAIN_PREFIX.length)}`;
}

const IFACE = /^[A-Za-z0-9_.-]{1,15}$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

function checkRoute(route: BridgeRoute): void {
  if (!LAUNCH_ID.test(route.launchId) || !IFACE.test(route.bridge) || !IPV4.test(route.gateway)) {
    throw new Error(
      `firewall: refusing a route with launch id ${JSON.stringify(route.launchId)}, bridge ${JSON.stringify(route.bridge)}, gateway ${JSON.stringify(route.gateway)}`,
    );
  }
}

/** The chain's rules in iptables-restore syntax: loopback returns, the ports accepted, the rest rejected. */
export function chainRules(route: BridgeRoute, ports: readonly number[], owner: string): string[] {
  checkRoute(route);
  const chain = chainName(route.launchId);
  const tag = `-m comment --comment ${ruleTag(route.launchId, owner)}`;
  for (const port of ports) if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`firewall: ${port} is not a port`);
  return [
    `-A ${chain} -i lo ${tag} -j RETURN`,
    ...[...new Set(ports)].map((port) => `-A ${chain} -i ${route.bridge} -d ${route.gateway}/32 -p tcp -m tcp --dport ${port} ${tag} -j ACCEPT`),
    `-A ${chain} ${tag} -j REJECT`,
  ];
}

/** The restore input that creates the chain (deny-all) and the two jumps. */
export function installScript(route: BridgeRoute, owner: string): string {
  const chain = chainName(route.launchId);
  const tag = `-m comment --comment ${ruleTag(route.launchId, owner)}`;
  return ['*filter', `:${chain} - [0:0]`, ...chainRules(route, [], owner), `-I INPUT 1 -i ${route.bridge} ${tag} -j ${chain}`, 'COMMIT', ''].join('\n');
}

/**
 * The restore input that, in one transaction, swaps the chain's rules for `ports` and sends
 * anything addressed to those ports on the gateway, from any interface, through the chain.
 * Called once per route, once the daemons listen.
 */
export function allowScript(route: BridgeRoute, ports: readonly number[], owner: string): string {
  const chain = chainName(route.launchId);
  const tag = `-m comment --comment ${ruleTag(route.launchId, owner)}`;
  return [
    '*filter',
    `-F ${chain}`,
    ...chainRules(route, ports, owner),
    ...[...new Set(ports)].map((port) => `-I INPUT 1 -d ${route.gateway}/32 -p tcp -m tcp --dport ${port} ${tag} -j ${chain}`),
    'COMMIT',
    '',
  ].join('\n');
}

/**
 * The restore input that deletes exactly the ACCEPT rules `allowScript` added for `ports`: the
 * jumps and the REJECT stay, so the chain then rejects all but loopback. Run when the daemons
 * behind those ports die with their launcher. Deleting a rule that is not there fails the whole
 * transaction and changes nothing: safe at any time, after `remove` too.
 */
export function closeScript(route: BridgeRoute, ports: readonly number[], owner: string): string {
  return [
    '*filter',
    ...chainRules(route, ports, owner)
      .filter((r) => r.endsWith(' -j ACCEPT'))
      .map((r) => `-D ${r.slice(3)}`),
    'COMMIT',
    '',
  ].join('\n');
}

/** Whether an `iptables -S` line carries exactly this tag (iptables-nft quotes the comment, legacy does not). */
function hasTag(line: string, tag: string): boolean {
  const escaped = tag.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`\\s--comment "?${escaped}"?(\\s|$)`).test(line);
}

/**
 * From `iptables -S` output: the restore input deleting this launch's tagged jumps, and its chain
 * when every rule in it carries the tag and no other jump is left to it; undefined when there is
 * nothing of this launch's to delete.
 */
export function removeScript(rules: string, launchId: string, owner: string): string | undefined {
  const chain = chainName(launchId);
  const own = ruleTag(launchId, owner);
  // Rules made before the engine was in the tag name the launch alone: still this launch's (its id is its own).
  const tagged = (line: string): boolean => hasTag(line, own) || hasTag(line, `${RULE_TAG}=${launchId}`);
  const lines = rules.split('\n').map((l) => l.trim());
  const toChain = lines.filter((l) => l.startsWith('-A ') && !l.startsWith(`-A ${chain} `) && l.endsWith(` -j ${chain}`));
  const jumps = toChain.filter(tagged);
  const inChain = lines.filter((l) => l.startsWith(`-A ${chain} `));
  const ours = lines.includes(`-N ${chain}`) && inChain.length > 0 && inChain.every(tagged) && jumps.length === toChain.length;
  if (!ours && jumps.length === 0) return undefined;
  return ['*filter', ...jumps.map((l) => `-D ${l.slice(3)}`), ...(ours ? [`-F ${chain}`, `-X ${chain}`] : []), 'COMMIT', ''].join('\n');
}

/** From `iptables -S` output: the launches with rules here, made by `owner`, that `removeScript` would delete. */
export function launchesIn(rules: string, owner: string): RouteLeftover[] {
  checkOwner(owner);
  const found = new Map<string, RouteLeftover>();
  for (const line of rules.split('\n')) {
    const m = new RegExp(`^-A (CB-\\S+) .*--comment "?${RULE_TAG.replace('.', '\\.')}=([a-z0-9]+)@${owner}"?(\\s|$)`).exec(line.trim());
    const [, chain, launchId] = m ?? [];
    if (chain && launchId && !found.has(launchId) && chainName(launchId) === chain && removeScript(rules, launchId, owner) !== undefined)
      found.set(launchId, { launchId, description: `iptables chain ${chain}` });
  }
  return [...found.values()];
}

export interface IptablesFirewallOptions {
  /** `iptables` (default); the restore program is `<binary>-restore`. */
  readonly binary?: string;
}

/** The firewall through `iptables` / `iptables-restore` (iptables-nft or legacy alike). */
export class IptablesFirewall implements HostFirewall {
  readonly #transport: Transport;
  readonly #binary: string;

  readonly #owner: string;

  /** `owner`: the engine whose routes these are (`docker`, `podman`), in every rule's tag. */
  constructor(transport: Transport, owner: string, options: IptablesFirewallOptions = {}) {
    checkOwner(owner);
    this.#transport = transport;
    this.#owner = owner;
    this.#binary = options.binary ?? 'iptables';
  }

  /** Once per firewall: a host that could install rules a moment ago still can (and each install fails loudly if not). */
  async check(): Promise<void> {
    this.#checked ??= this.#ok([this.#binary, '-w', '-S', 'INPUT']).then(
      () => undefined,
      (error: unknown) => {
        this.#checked = undefined;
        throw error;
      },
    );
    await this.#checked;
  }
  #checked: Promise<void> | undefined;

  async install(route: BridgeRoute): Promise<void> {
    await this.#restore(installScript(route, this.#owner));
  }

  async allow(route: BridgeRoute, ports: readonly number[]): Promise<RouteCloser> {
    const closer = { argv: [`${this.#binary}-restore`, '-w', '--noflush'], stdin: closeScript(route, ports, this.#owner) };
    await this.#restore(allowScript(route, ports, this.#owner));
    return closer;
  }

  async remove(launchId: string): Promise<boolean> {
    const script = removeScript((await this.#ok([this.#binary, '-w', '-S'])).stdout, launchId, this.#owner);
    if (script === undefined) return false;
    await this.#restore(script);
    return true;
  }

  async list(): Promise<RouteLeftover[]> {
    return launchesIn((await this.#ok([this.#binary, '-w', '-S'])).stdout, this.#owner);
  }

  async #restore(script: string): Promise<void> {
    await this.#ok([`${this.#binary}-restore`, '-w', '--noflush'], script);
  }

  async #ok(argv: readonly string[], stdin?: string): Promise<CommandResult> {
    let result: CommandResult;
    try {
      result = await this.#transport.run(argv, stdin !== undefined ? { stdin } : {});
    } catch (error) {
      if (error instanceof BinaryNotFoundError) {
        throw new FirewallUnavailableError(
          {
            kind: 'unknown',
            reason: `the per-bottle firewall needs ${argv[0]}, which is not installed or not on PATH (Debian/Ubuntu: apt-get install iptables; it lives in /usr/sbin)`,
            argv,
            exitCode: -1,
            stderr: '',
          },
          { cause: error },
        );
      }
      throw error;
    }
    if (result.exitCode === 0) return result;
    const denied = /permission denied|must be root|Operation not permitted/i.test(result.stderr);
    throw new FirewallUnavailableError({
      kind: 'unknown',
      reason: denied
        ? `the per-bottle firewall needs root to install iptables rules (${argv[0]} was refused): run claude-bottle as root, or opt out of network isolation (unsafe; see the README)`
        : `the per-bottle firewall could not be ${argv[0]?.endsWith('-restore') ? 'changed' : 'read'} (${argv[0]} exited ${result.exitCode})`,
      argv: result.argv,
      exitCode: result.exitCode,
      stderr: result.stderr,
      stdout: result.stdout,
      timedOut: result.timedOut,
    });
  }
}
