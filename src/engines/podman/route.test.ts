// A podman host route, scripted as podman 4.3.1 and iproute2 answer: the network (made twice
// only when podman gives it no gateway), the bridge marked as the launch's, and what removal
// reads back before it deletes anything.
import { describe, expect, it } from 'vitest';
import type { CommandResult, RunOptions, Transport } from '../../transport/types.ts';
import { aliasOf } from './bridge.ts';
import { PodmanEngine } from './engine.ts';

const LAUNCH = '0123456789abcdef';
const NAME = `claude-bottle-${LAUNCH}`;
const ID = '3ea50e48eb1883c8c7d87ec39a73c09d533f79d40e91ce0b17c45a4dceaf8774';
const LABELS = { 'claude-bottle.launch': LAUNCH };

/** `podman network inspect` of the route's network; podman 4.3 gives an internal no-DNS network no gateway. */
const networkJson = (gateway: boolean): string =>
  JSON.stringify([
    {
      name: NAME,
      id: ID,
      network_interface: 'podman1',
      subnets: [{ subnet: '10.89.0.0/24', ...(gateway ? { gateway: '10.89.0.1' } : {}) }],
      internal: true,
      labels: { 'claude-bottle': '1', ...LABELS },
    },
  ]);

const linkLine = (alias?: string): string =>
  `12: podman1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000\\    link/ether 1a:8f:16:09:27:16 brd ff:ff:ff:ff:ff:ff${alias ? `\\    alias ${alias}` : ''}\n`;

/** podman, ip and iptables as a host answers them; `link` is what `ip -o link show dev podman1` prints (undefined: no such device). */
function host(options: { gatewayFirst?: boolean; link?: string; batch?: Partial<CommandResult> } = {}) {
  const calls: { argv: readonly string[]; stdin?: string }[] = [];
  let created = 0;
  const state = { link: options.link };
  const reply = (argv: readonly string[]): Partial<CommandResult> => {
    const verb = argv.slice(0, 3).join(' ');
    if (verb === 'podman network create') created++;
    if (verb === 'podman network inspect') return { stdout: networkJson(created > 1 || options.gatewayFirst === true) };
    if (verb === 'podman ps -a') return { stdout: '' };
    if (verb === 'ip -batch -') {
      if (options.batch) return options.batch;
      state.link = linkLine(`claude-bottle.launch=${LAUNCH}`);
      return {};
    }
    if (verb === 'ip -o link') return state.link === undefined ? { exitCode: 1, stderr: 'Device "podman1" does not exist.\n' } : { stdout: state.link };
    if (verb === 'ip link del') state.link = undefined;
    return {};
  };
  const transport: Transport = {
    async run(argv, runOptions: RunOptions = {}) {
      calls.push({ argv, ...(typeof runOptions.stdin === 'string' ? { stdin: runOptions.stdin } : {}) });
      const r = reply(argv);
      const stdout = r.stdout ?? '';
      return { argv, exitCode: 0, stderr: '', durationMs: 1, timedOut: false, ...r, stdout, stdoutBytes: new TextEncoder().encode(stdout) };
    },
  };
  const engine = new PodmanEngine({ transport, limits: { root: true, capSysResource: true, hardNofile: 1 << 20, hardNproc: 1 << 20 }, rootful: true });
  return { engine, calls, state, verbs: () => calls.map((c) => c.argv.slice(0, 3).join(' ')) };
}

describe('a podman host route', () => {
  it('podman 4.3: the subnet podman picked, made again with its gateway; the bridge made, marked and addressed in one ip call; deny-all', async () => {
    const { engine, calls, verbs } = host();
    const route = await engine.hostRoute('m', { egress: false, labels: LABELS });
    expect(route).toEqual({ bindHost: '10.89.0.1', guestHost: '10.89.0.1', network: NAME, allow: expect.any(Function) });
    expect(calls.filter((c) => c.argv[0] === 'podman').map((c) => c.argv.slice(2).join(' '))).toEqual([
      `create --internal --disable-dns --label claude-bottle=1 --label claude-bottle.launch=${LAUNCH} --label claude-bottle.machine=m ${NAME}`,
      `inspect ${NAME}`,
      `rm ${NAME}`,
      `create --internal --disable-dns --subnet 10.89.0.0/24 --gateway 10.89.0.1 --label claude-bottle=1 --label claude-bottle.launch=${LAUNCH} --label claude-bottle.machine=m ${NAME}`,
      `inspect ${NAME}`,
    ]);
    expect(verbs().filter((v) => !v.startsWith('podman'))).toEqual(['iptables -w -S', 'ip -batch -', 'iptables-restore -w --noflush']);
    expect(calls.find((c) => c.argv[1] === '-batch')?.stdin?.split('\n')).toEqual([
      'link add name podman1 type bridge',
      `link set dev podman1 alias claude-bottle.launch=${LAUNCH}`,
      'link set dev podman1 addrgenmode none',
      'addr replace 10.89.0.1/24 dev podman1',
      'link set dev podman1 up',
      '',
    ]);
  });

  it('a podman that gives the network a gateway: the first network is kept', async () => {
    const { engine, verbs } = host({ gatewayFirst: true });
    await engine.hostRoute('m', { egress: false, labels: LABELS });
    expect(verbs().filter((v) => v.startsWith('podman'))).toEqual(['podman network create', 'podman network inspect']);
  });

  it('removal after the ownership check: one inspect, our marked bridge deleted, the rules read once', async () => {
    const { engine, calls, verbs } = host({ link: linkLine(`claude-bottle.launch=${LAUNCH}`) });
    const info = await engine.networkStatus(NAME);
    expect(info).toMatchObject({ id: ID, machines: 0 });
    await engine.removeNetwork(info?.id ?? '');
    await engine.removeRouteLeftovers(LAUNCH);
    expect(verbs()).toEqual(['podman network inspect', 'podman ps -a', 'podman network rm', 'ip -o link', 'ip link del', 'iptables -w -S']);
    expect(calls.find((c) => c.argv[1] === 'link' && c.argv[2] === 'del')?.argv).toEqual(['ip', 'link', 'del', 'dev', 'podman1']);
  });

  it.each([
    ['no alias (netavark made it for a network that got the name after ours)', linkLine()],
    ["another launch's mark", linkLine('claude-bottle.launch=ffffffffffffffff')],
    ['a mark that only starts like ours', linkLine(`claude-bottle.launch=${LAUNCH}0`)],
  ])("an interface of the bridge's name with %s is left alone", async (_, link) => {
    const { engine, verbs } = host({ link });
    await engine.removeNetwork(NAME);
    expect(verbs().filter((v) => v.startsWith('ip '))).toEqual(['ip -o link']);
  });

  it('a bridge already gone (netavark took it with the last container) is left be', async () => {
    const { engine, verbs } = host();
    await engine.removeNetwork(NAME);
    expect(verbs().filter((v) => v.startsWith('ip '))).toEqual(['ip -o link']);
  });

  it('an interface that already has the name is refused, untouched; the network goes again', async () => {
    const { engine, calls, state } = host({
      link: linkLine(),
      batch: { exitCode: 1, stderr: 'RTNETLINK answers: File exists\nCommand failed -:1\n' },
    });
    const error = await engine.hostRoute('m', { egress: false, labels: LABELS }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/names bridge podman1, but an interface of that name already exists and is not this launch's: left alone/);
    expect(state.link).toBe(linkLine());
    expect(calls.filter((c) => c.argv[0] === 'ip').map((c) => c.argv.slice(0, 3).join(' '))).toEqual(['ip -batch -', 'ip -o link']);
    expect(calls.filter((c) => c.argv[1] === 'network' && c.argv[2] === 'rm').map((c) => c.argv[3])).toEqual([NAME, ID]);
  });

  it('a bridge made here whose setup failed after it (its mark, address or state) is deleted at once', async () => {
    const { engine, calls } = host({ batch: { exitCode: 1, stderr: 'Error: ipv4: Address already assigned.\nCommand failed -:4\n' } });
    const error = await engine.hostRoute('m', { egress: false, labels: LABELS }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/cannot set up the host side of a podman network \(Error: ipv4: Address already assigned\.\)/);
    expect(calls.filter((c) => c.argv[0] === 'ip').map((c) => c.argv.join(' '))).toContain('ip link del dev podman1');
  });

  it('reads the alias off a line of `ip -o link show`', () => {
    expect(aliasOf(linkLine('claude-bottle.launch=abc'))).toBe('claude-bottle.launch=abc');
    expect(aliasOf(linkLine('two words'))).toBe('two words');
    expect(aliasOf(linkLine())).toBeUndefined();
  });
});
