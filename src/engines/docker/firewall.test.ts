import { describe, expect, it } from 'vitest';
import { LAUNCH_LABEL } from '../../engine/types.ts';
import { BinaryNotFoundError, EngineCommandError } from '../../errors.ts';
import type { CommandResult, RunOptions, Transport } from '../../transport/types.ts';
import { DockerEngine } from './engine.ts';
import {
  allowScript,
  chainName,
  closeScript,
  FirewallUnavailableError,
  installScript,
  IptablesFirewall,
  launchesIn,
  removeScript,
} from '../container/firewall.ts';

const LAUNCH = '0123456789abcdef';
const NET_ID = 'f6c585070c075c7777c999a9781822d9eca42d5288cbe36c243e07d79c7acb5e';
const ROUTE = { launchId: LAUNCH, bridge: 'br-f6c585070c07', gateway: '172.27.0.1' };

/** `iptables -S` as iptables-nft prints it with one route installed and opened on two ports. */
const LISTED = [
  '-P INPUT ACCEPT',
  '-P FORWARD DROP',
  '-N CB-0123456789abcdef',
  '-N DOCKER',
  '-A INPUT -i br-f6c585070c07 -m comment --comment claude-bottle.launch=0123456789abcdef@docker -j CB-0123456789abcdef',
  '-A INPUT -d 172.27.0.1/32 -p tcp -m tcp --dport 41000 -m comment --comment "claude-bottle.launch=0123456789abcdef@docker" -j CB-0123456789abcdef',
  '-A INPUT -i eth0 -j ACCEPT',
  '-A CB-0123456789abcdef -i lo -m comment --comment claude-bottle.launch=0123456789abcdef@docker -j RETURN',
  '-A CB-0123456789abcdef -d 172.27.0.1/32 -i br-f6c585070c07 -p tcp -m tcp --dport 41000 -m comment --comment claude-bottle.launch=0123456789abcdef@docker -j ACCEPT',
  '-A CB-0123456789abcdef -m comment --comment claude-bottle.launch=0123456789abcdef@docker -j REJECT --reject-with icmp-port-unreachable',
  '',
].join('\n');

function result(argv: readonly string[], fields: Partial<CommandResult> = {}): CommandResult {
  return { argv, exitCode: 0, stdout: '', stderr: '', stdoutBytes: new Uint8Array(), durationMs: 0, timedOut: false, ...fields };
}

/** A transport answering docker's network calls and iptables, recording argv and stdin. */
function scripted(answer: (argv: readonly string[]) => Partial<CommandResult> | Error = () => ({})): {
  transport: Transport;
  calls: { argv: readonly string[]; stdin?: string }[];
} {
  const calls: { argv: readonly string[]; stdin?: string }[] = [];
  const networkJson = JSON.stringify([
    {
      Id: NET_ID,
      Name: `claude-bottle-${LAUNCH}`,
      Labels: { [LAUNCH_LABEL]: LAUNCH },
      IPAM: { Config: [{ Gateway: '172.27.0.1' }] },
      Containers: {},
      Options: {},
    },
  ]);
  return {
    calls,
    transport: {
      async run(argv, options: RunOptions = {}): Promise<CommandResult> {
        calls.push({ argv, ...(typeof options.stdin === 'string' ? { stdin: options.stdin } : {}) });
        const custom = answer(argv);
        if (custom instanceof Error) throw custom;
        if (Object.keys(custom).length) return result(argv, custom);
        if (argv[1] === 'network' && argv[2] === 'create') return result(argv, { stdout: `${NET_ID}\n` });
        if (argv[1] === 'network' && argv[2] === 'inspect') return result(argv, { stdout: `${networkJson}\n` });
        if (argv[0] === 'iptables' && argv.includes('-S') && argv.length === 3) return result(argv, { stdout: LISTED });
        return result(argv);
      },
    },
  };
}

describe('the per-bottle firewall: rules', () => {
  it('install: a deny-all chain named after the launch, jumped to for the bridge; loopback returns', () => {
    expect(installScript(ROUTE, 'docker')).toBe(
      [
        '*filter',
        ':CB-0123456789abcdef - [0:0]',
        '-A CB-0123456789abcdef -i lo -m comment --comment claude-bottle.launch=0123456789abcdef@docker -j RETURN',
        '-A CB-0123456789abcdef -m comment --comment claude-bottle.launch=0123456789abcdef@docker -j REJECT',
        '-I INPUT 1 -i br-f6c585070c07 -m comment --comment claude-bottle.launch=0123456789abcdef@docker -j CB-0123456789abcdef',
        'COMMIT',
        '',
      ].join('\n'),
    );
  });

  it('allow: the chain swapped, in one transaction, for exactly the daemon ports from the bridge; those ports closed to every other interface', () => {
    const script = allowScript(ROUTE, [41000, 41001, 41000], 'docker');
    expect(script.split('\n')).toEqual([
      '*filter',
      '-F CB-0123456789abcdef',
      '-A CB-0123456789abcdef -i lo -m comment --comment claude-bottle.launch=0123456789abcdef@docker -j RETURN',
      '-A CB-0123456789abcdef -i br-f6c585070c07 -d 172.27.0.1/32 -p tcp -m tcp --dport 41000 -m comment --comment claude-bottle.launch=0123456789abcdef@docker -j ACCEPT',
      '-A CB-0123456789abcdef -i br-f6c585070c07 -d 172.27.0.1/32 -p tcp -m tcp --dport 41001 -m comment --comment claude-bottle.launch=0123456789abcdef@docker -j ACCEPT',
      '-A CB-0123456789abcdef -m comment --comment claude-bottle.launch=0123456789abcdef@docker -j REJECT',
      '-I INPUT 1 -d 172.27.0.1/32 -p tcp -m tcp --dport 41000 -m comment --comment claude-bottle.launch=0123456789abcdef@docker -j CB-0123456789abcdef',
      '-I INPUT 1 -d 172.27.0.1/32 -p tcp -m tcp --dport 41001 -m comment --comment claude-bottle.launch=0123456789abcdef@docker -j CB-0123456789abcdef',
      'COMMIT',
      '',
    ]);
    expect(() => allowScript(ROUTE, [0], 'docker')).toThrow(/not a port/);
    expect(() => installScript({ ...ROUTE, bridge: 'br0 -j ACCEPT' }, 'docker')).toThrow(/refusing a route/);
    expect(() => installScript({ ...ROUTE, gateway: '0.0.0.0/0' }, 'docker')).toThrow(/refusing a route/);
  });

  it('close: deletes exactly the ACCEPT rules allow added for those ports, tagged; the jumps and the REJECT stay', () => {
    expect(closeScript(ROUTE, [41000, 41001, 41000], 'docker').split('\n')).toEqual([
      '*filter',
      '-D CB-0123456789abcdef -i br-f6c585070c07 -d 172.27.0.1/32 -p tcp -m tcp --dport 41000 -m comment --comment claude-bottle.launch=0123456789abcdef@docker -j ACCEPT',
      '-D CB-0123456789abcdef -i br-f6c585070c07 -d 172.27.0.1/32 -p tcp -m tcp --dport 41001 -m comment --comment claude-bottle.launch=0123456789abcdef@docker -j ACCEPT',
      'COMMIT',
      '',
    ]);
    // The very rules allow appended, as deletions.
    const accepts = allowScript(ROUTE, [41000, 41001], 'docker')
      .split('\n')
      .filter((l) => l.endsWith(' -j ACCEPT'));
    expect(closeScript(ROUTE, [41000, 41001], 'docker')).toContain(accepts.map((l) => l.replace(/^-A /, '-D ')).join('\n'));
    expect(closeScript(ROUTE, [], 'docker')).toBe('*filter\nCOMMIT\n');
    expect(() => closeScript(ROUTE, [70000], 'docker')).toThrow(/not a port/);
    expect(() => closeScript({ ...ROUTE, bridge: 'br0 -j ACCEPT' }, [41000], 'docker')).toThrow(/refusing a route/);
  });

  it("remove: deletes this launch's jumps and chain only; nothing to do when it has none", () => {
    expect(removeScript(LISTED, LAUNCH, 'docker')?.split('\n')).toEqual([
      '*filter',
      '-D INPUT -i br-f6c585070c07 -m comment --comment claude-bottle.launch=0123456789abcdef@docker -j CB-0123456789abcdef',
      '-D INPUT -d 172.27.0.1/32 -p tcp -m tcp --dport 41000 -m comment --comment "claude-bottle.launch=0123456789abcdef@docker" -j CB-0123456789abcdef',
      '-F CB-0123456789abcdef',
      '-X CB-0123456789abcdef',
      'COMMIT',
      '',
    ]);
    expect(removeScript(LISTED, 'ffffffffffffffff', 'docker')).toBeUndefined();
    expect(launchesIn(LISTED, 'docker')).toEqual([{ launchId: LAUNCH, description: 'iptables chain CB-0123456789abcdef' }]);
  });

  it("remove: a namesake chain without this launch's tag on every rule, and untagged jumps to it, are someone else's and stay", () => {
    const chain = 'CB-0123456789abcdef';
    const tag = '-m comment --comment claude-bottle.launch=0123456789abcdef@docker';
    // A chain of that name with none of our tags: nothing at all is ours.
    const foreign = ['-P INPUT ACCEPT', `-N ${chain}`, `-A INPUT -i br-x -j ${chain}`, `-A ${chain} -j ACCEPT`, ''].join('\n');
    expect(removeScript(foreign, LAUNCH, 'docker')).toBeUndefined();
    expect(launchesIn(foreign, 'docker')).toEqual([]);
    // One untagged rule in it: our tagged jump goes, the chain stays (and is no longer listed once it has none).
    const mixed = [`-N ${chain}`, `-A INPUT -i br-x ${tag} -j ${chain}`, `-A ${chain} ${tag} -j REJECT`, `-A ${chain} -s 10.0.0.0/8 -j ACCEPT`, ''].join('\n');
    expect(removeScript(mixed, LAUNCH, 'docker')?.split('\n')).toEqual(['*filter', `-D INPUT -i br-x ${tag} -j ${chain}`, 'COMMIT', '']);
    expect(launchesIn(mixed, 'docker').map((l) => l.launchId)).toEqual([LAUNCH]);
    // Someone else's (untagged) jump to our chain: ours go, the chain stays for it.
    const jumpedTo = `${LISTED}-A FORWARD -i eth9 -j ${chain}\n`;
    expect(removeScript(jumpedTo, LAUNCH, 'docker')?.split('\n')).not.toContain(`-X ${chain}`);
    expect(removeScript(jumpedTo, LAUNCH, 'docker')?.split('\n')).not.toContain(`-D FORWARD -i eth9 -j ${chain}`);
    // Another launch's tag is not ours either, nor a tag that only starts like ours.
    expect(removeScript(LISTED.replaceAll('launch=0123456789abcdef@docker', 'launch=0123456789abcdefff@docker'), LAUNCH, 'docker')).toBeUndefined();
  });

  it("Docker and Podman share the host's rules: each lists and removes only those its own tag names", async () => {
    // A live Docker bottle's rules, seen by Podman's firewall (a `prune --backend podman`): not its leftovers.
    expect(launchesIn(LISTED, 'podman')).toEqual([]);
    expect(removeScript(LISTED, LAUNCH, 'podman')).toBeUndefined();
    const { transport, calls } = scripted();
    const podmans = new IptablesFirewall(transport, 'podman');
    expect(await podmans.list()).toEqual([]);
    expect(await podmans.remove(LAUNCH)).toBe(false);
    expect(calls.map((c) => c.argv[0])).toEqual(['iptables', 'iptables']);
    // Rules from before the engine was in the tag: nobody's leftover to list, but removed with their launch.
    const legacy = LISTED.replaceAll('@docker', '');
    expect(launchesIn(legacy, 'docker')).toEqual([]);
    expect(removeScript(legacy, LAUNCH, 'podman')).toBe(removeScript(LISTED, LAUNCH, 'docker')?.replaceAll('@docker', ''));
    expect(() => new IptablesFirewall(transport, 'Docker -j ACCEPT')).toThrow(/refusing an owner/);
  });

  it('chain names fit iptables (28 chars)', () => {
    expect(chainName(LAUNCH)).toBe('CB-0123456789abcdef');
    const long = 'a'.repeat(40);
    expect(chainName(long)).toMatch(/^CB-[0-9a-f]{25}$/);
    expect(chainName(long).length).toBeLessThanOrEqual(28);
  });
});

describe('the per-bottle firewall on the docker engine', () => {
  it('hostRoute: checks, creates the network, installs deny-all; allow() opens the ports; removeNetwork() removes the network then the rules', async () => {
    const { transport, calls } = scripted();
    const engine = new DockerEngine({ transport });
    const route = await engine.hostRoute('m1', { egress: false, labels: { [LAUNCH_LABEL]: LAUNCH } });
    expect(route).toMatchObject({ bindHost: '172.27.0.1', guestHost: '172.27.0.1', network: `claude-bottle-${LAUNCH}` });
    expect(calls.map((c) => c.argv.slice(0, 3).join(' '))).toEqual([
      'iptables -w -S',
      'docker network create',
      'docker network inspect',
      'iptables-restore -w --noflush',
    ]);
    expect(calls[3]?.stdin).toBe(installScript(ROUTE, 'docker'));

    // It answers the command that closes those ports again: run if the launcher dies with its daemons.
    expect(await route.allow?.([41000])).toEqual({ argv: ['iptables-restore', '-w', '--noflush'], stdin: closeScript(ROUTE, [41000], 'docker') });
    expect(calls.at(-1)).toEqual({ argv: ['iptables-restore', '-w', '--noflush'], stdin: allowScript(ROUTE, [41000], 'docker') });

    const before = calls.length;
    await engine.removeNetwork(NET_ID);
    expect(calls.slice(before).map((c) => c.argv.slice(0, 3).join(' '))).toEqual([
      'docker network inspect',
      'docker network rm',
      'iptables -w -S',
      'iptables-restore -w --noflush',
    ]);
    expect(calls.at(-1)?.stdin).toBe(removeScript(LISTED, LAUNCH, 'docker'));
    expect(await engine.listRouteLeftovers()).toEqual([{ launchId: LAUNCH, description: 'iptables chain CB-0123456789abcdef' }]);
  });

  it('the ownership check, removeNetwork and removeRouteLeftovers read the network and the rules once each', async () => {
    const { transport, calls } = scripted();
    const engine = new DockerEngine({ transport });
    const info = await engine.networkStatus(`claude-bottle-${LAUNCH}`);
    await engine.removeNetwork(info?.id ?? '');
    await engine.removeRouteLeftovers(LAUNCH);
    expect(calls.map((c) => c.argv.slice(0, 3).join(' '))).toEqual([
      'docker network inspect',
      'docker network rm',
      'iptables -w -S',
      'iptables-restore -w --noflush',
    ]);
    // Asked again (a neighbour's call, a retry), the rules are read afresh.
    await engine.removeRouteLeftovers(LAUNCH);
    expect(calls.at(-2)?.argv).toEqual(['iptables', '-w', '-S']);
  });

  it('without root or without iptables, a route fails before anything is created, naming what is missing', async () => {
    const notRoot = scripted((argv) =>
      argv[0] === 'iptables'
        ? { exitCode: 4, stderr: 'iptables v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)\n' }
        : {},
    );
    const denied = await new DockerEngine({ transport: notRoot.transport })
      .hostRoute('m1', { egress: false, labels: { [LAUNCH_LABEL]: LAUNCH } })
      .catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(FirewallUnavailableError);
    expect(denied).toBeInstanceOf(EngineCommandError);
    expect((denied as Error).message).toMatch(/needs root to install iptables rules/);
    expect(notRoot.calls.map((c) => c.argv[0])).toEqual(['iptables']);

    const missing = scripted((argv) => (argv[0] === 'iptables' ? new BinaryNotFoundError('iptables', argv, 'Install iptables or put it on PATH.') : {}));
    const absent = await new DockerEngine({ transport: missing.transport })
      .hostRoute('m1', { egress: false, labels: { [LAUNCH_LABEL]: LAUNCH } })
      .catch((e: unknown) => e);
    expect((absent as Error).message).toMatch(/needs iptables, which is not installed or not on PATH/);
    expect(missing.calls).toHaveLength(1);
  });

  it('a failed install removes the network it made (and any rules) before throwing', async () => {
    const { transport, calls } = scripted((argv) => (argv[0] === 'iptables-restore' ? { exitCode: 1, stderr: 'iptables-restore: line 3 failed\n' } : {}));
    const error = await new DockerEngine({ transport }).hostRoute('m1', { egress: false, labels: { [LAUNCH_LABEL]: LAUNCH } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FirewallUnavailableError);
    expect(calls.map((c) => c.argv.join(' '))).toContain(`docker network rm ${NET_ID}`);
  });

  it("firewall: 'off' installs nothing and gives routes no allow()", async () => {
    const { transport, calls } = scripted();
    const route = await new DockerEngine({ transport, firewall: 'off' }).hostRoute('m1', { egress: false, labels: { [LAUNCH_LABEL]: LAUNCH } });
    expect(route.allow).toBeUndefined();
    expect(calls.map((c) => c.argv[0])).toEqual(['docker', 'docker']);
  });

  it('an IptablesFirewall with another binary uses its -restore companion', async () => {
    const { transport, calls } = scripted();
    const firewall = new IptablesFirewall(transport, 'docker', { binary: 'iptables-legacy' });
    await firewall.install(ROUTE);
    // Its closer too.
    expect((await firewall.allow(ROUTE, [41000]))?.argv).toEqual(['iptables-legacy-restore', '-w', '--noflush']);
    expect(calls.map((c) => c.argv[0])).toEqual(['iptables-legacy-restore', 'iptables-legacy-restore']);
  });
});
