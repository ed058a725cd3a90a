import { describe, expect, it } from 'vitest';
import { dockerArgv } from './argv.ts';
import { ConfigError } from '../../errors.ts';
import type { CommandResult, Transport } from '../../transport/types.ts';
import { parseDockerNetworks } from './cli.ts';
import { DockerEngine } from './engine.ts';
import type { MachineConfig } from '../../engine/types.ts';

function recording(): { transport: Transport; calls: (readonly string[])[] } {
  const calls: (readonly string[])[] = [];
  return {
    calls,
    transport: {
      async run(argv): Promise<CommandResult> {
        calls.push(argv);
        return { argv, exitCode: 0, stdout: '', stderr: '', stdoutBytes: new Uint8Array(), durationMs: 0, timedOut: false };
      },
    },
  };
}

const machine = (enabled: boolean): MachineConfig => ({ name: 'm1', image: 'img:1', labels: {}, network: { enabled, allowHosts: [], allowCidrs: [] } });
const networkOf = (argv: readonly string[]): string | undefined => (argv.includes('--network') ? argv[argv.indexOf('--network') + 1] : undefined);

describe('docker network option', () => {
  it('argv: a named network is --network <name>, before the image; names that could read as flags are refused', () => {
    const argv = dockerArgv.create({ name: 'm1', image: 'img:1', network: { name: 'cbi-test' } });
    expect(networkOf(argv)).toBe('cbi-test');
    expect(argv.indexOf('--network')).toBeLessThan(argv.indexOf('img:1'));
    expect(networkOf(dockerArgv.create({ name: 'm1', image: 'img:1', network: { name: 'host' } }))).toBe('host');
    expect(() => dockerArgv.create({ name: 'm1', image: 'img:1', network: { name: '--privileged' } })).toThrow(ConfigError);
    expect(() => dockerArgv.create({ name: 'm1', image: 'img:1', network: { name: '' } })).toThrow(/invalid network/);
  });

  it('the engine option applies to machines with network; machines without stay on none', async () => {
    const { transport, calls } = recording();
    const engine = new DockerEngine({ transport, network: 'cbi-test' });
    await engine.create(machine(true));
    await engine.create(machine(false));
    expect(calls.map(networkOf)).toEqual(['cbi-test', 'none']);
    const plain = recording();
    await new DockerEngine({ transport: plain.transport }).create(machine(true));
    expect(plain.calls.map(networkOf)).toEqual([undefined]);
  });
});

describe('IPv6 on a route network', () => {
  const sysctls = (argv: readonly string[]): string[] => argv.flatMap((a, i) => (argv[i - 1] === '--sysctl' ? [a] : []));

  it("a machine attached to a route's network has IPv6 off in its namespace, whatever the engine's default; no other machine is touched", async () => {
    const { transport, calls } = recording();
    const engine = new DockerEngine({ transport, network: 'host' });
    await engine.create({
      ...machine(true),
      network: { enabled: true, allowHosts: [], allowCidrs: [], hostOnly: true, attach: 'claude-bottle-0123456789abcdef' },
    });
    await engine.create(machine(true));
    await engine.create(machine(false));
    expect(calls.map(sysctls)).toEqual([['net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'], [], []]);
    // Before the image: everything after it is the keep-alive's.
    expect(calls[0]?.lastIndexOf('--sysctl')).toBeLessThan(calls[0]?.indexOf('img:1') ?? -1);
  });
});

describe('docker network inspect', () => {
  it('reads what a route hook needs: gateway, subnet, prefix and the bridge docker made for it', () => {
    const json = JSON.stringify([
      {
        Name: 'n',
        Id: 'a225194ea0d746f425b3',
        Labels: { a: 'b' },
        IPAM: { Config: [{ Subnet: '192.168.176.0/20', Gateway: '192.168.176.1' }] },
        Containers: { x: {} },
        Options: {},
      },
      { Name: 'm', Id: 'b1', Labels: null, IPAM: { Config: [] }, Containers: null, Options: { 'com.docker.network.bridge.name': 'cb-br' } },
    ]);
    expect(parseDockerNetworks(json)).toEqual([
      {
        id: 'a225194ea0d746f425b3',
        name: 'n',
        labels: { a: 'b' },
        machines: 1,
        gateway: '192.168.176.1',
        prefixLength: 20,
        subnet: '192.168.176.0/20',
        hostInterface: 'br-a225194ea0d7',
      },
      { id: 'b1', name: 'm', labels: {}, machines: 0, hostInterface: 'cb-br' },
    ]);
  });

  it('refuses JSON of another shape, naming where and what it expected', () => {
    expect(() => parseDockerNetworks(JSON.stringify([{ Name: 'n', Id: 'a', Labels: ['a=b'] }]))).toThrow(
      '`docker network inspect` printed JSON of an unexpected shape: [0].Labels: expected an object, got an array',
    );
    expect(() => parseDockerNetworks(JSON.stringify([{ Name: 'n', Id: 'a', IPAM: { Config: [{ Gateway: 1 }] } }]))).toThrow(
      /\[0\]\.IPAM\.Config\[0\]\.Gateway: expected a string, got number 1/,
    );
    expect(() => parseDockerNetworks('')).toThrow(/not JSON/);
  });
});
