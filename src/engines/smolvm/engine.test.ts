import { describe, expect, it } from 'vitest';
import { parseSmolvmVersion } from './version.ts';
import type { CommandResult, Transport } from '../../transport/types.ts';
import { SmolvmEngine } from './engine.ts';

/** Answers every call with success and keeps the argv: enough to see which flags a version gets. */
function recorder(): Transport & { argvs: string[][] } {
  const argvs: string[][] = [];
  return {
    argvs,
    run: async (argv) => {
      argvs.push([...argv]);
      const result: CommandResult = { argv, exitCode: 0, stdout: '', stderr: '', stdoutBytes: new Uint8Array(), durationMs: 0, timedOut: false };
      return result;
    },
  };
}

const hostOnly = { enabled: false, allowHosts: [], allowCidrs: [], hostOnly: true } as const;

describe('SmolvmEngine across versions', () => {
  it('on the 1.9 baseline: no exec --user, no --allow-host-loopback; host-only machines get the gateway on their allow-list', async () => {
    const transport = recorder();
    const engine = new SmolvmEngine({ transport });
    await engine.create({ name: 'm', image: 'alpine', labels: {}, network: hostOnly });
    await engine.exec('m', ['id'], { user: { uid: 1000, gid: 1000 } });
    expect(transport.argvs).toEqual([
      ['smolvm', 'machine', 'create', '--name', 'm', '--allow-cidr', '100.96.0.1/32', '--outbound-localhost-only'],
      ['smolvm', 'machine', 'exec', '--name', 'm', '--', 'id'],
    ]);
  });

  it('on 1.17: exec --user uid:gid, and host-only machines may reach the host loopback', async () => {
    const transport = recorder();
    const engine = new SmolvmEngine({ transport, version: parseSmolvmVersion('smolvm 1.17.0')! });
    await engine.create({ name: 'm', image: 'alpine', labels: {}, network: hostOnly });
    await engine.exec('m', ['id'], { user: { uid: 1000, gid: 1000 } });
    expect(transport.argvs).toEqual([
      ['smolvm', 'machine', 'create', '--name', 'm', '--allow-host-loopback', '--outbound-localhost-only'],
      ['smolvm', 'machine', 'exec', '--name', 'm', '--user', '1000:1000', '--', 'id'],
    ]);
  });
});
