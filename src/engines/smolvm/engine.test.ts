import { describe, expect, it } from 'vitest';
import { createFakeSmolvm } from '../../../fakes/index.ts';
import { ConfigError } from '../../errors.ts';
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

describe('SmolvmEngine and the env names smolvm reads itself', () => {
  const network = { enabled: false, allowHosts: [], allowCidrs: [] } as const;
  const user = { name: 'node', uid: 1000, gid: 1000, home: '/home/node' } as const;

  it('checkConfig names each such entry of the agent env, and passes the rest', () => {
    const engine = new SmolvmEngine({ transport: recorder() });
    const issues = engine.checkConfig({ image: 'alpine', user, env: { PATH: '/x', TOKEN: 't', HTTPS_PROXY: 'http://p:1', SMOLVM_DATA_DIR: '/d' } });
    expect(issues.map((i) => i.path)).toEqual(['env.PATH', 'env.SMOLVM_DATA_DIR']);
    expect(engine.checkConfig({ image: 'alpine', user, env: { TOKEN: 't', SSL_CERT_FILE: '/etc/ssl/certs/ca-certificates.crt' } })).toEqual([]);
  });

  it('checkConfig and create refuse an image smolvm would read as a flag, or as stdin', async () => {
    const transport = recorder();
    const engine = new SmolvmEngine({ transport });
    for (const image of ['--net', '-', 'two words', '']) {
      expect(engine.checkConfig({ image, user, env: {} }).map((i) => i.path)).toEqual(['image']);
      await expect(engine.create({ name: 'img', image, labels: {}, network })).rejects.toBeInstanceOf(ConfigError);
    }
    expect(engine.checkConfig({ image: 'ghcr.io/acme/agent:1', user, env: {} })).toEqual([]);
    expect(transport.argvs).toEqual([]);
  });

  it('exec and create refuse them before smolvm is spawned', async () => {
    const transport = recorder();
    const engine = new SmolvmEngine({ transport });
    await expect(engine.exec('m', ['true'], { env: { HOME: '/tmp/h', TOKEN: 't' } })).rejects.toThrow(ConfigError);
    await expect(engine.exec('m', ['true'], { env: { PATH: '/opt/nowhere' } })).rejects.toMatchObject({ issues: [{ path: 'env.PATH' }] });
    await expect(engine.create({ name: 'm', image: 'alpine', labels: {}, network, env: { LD_PRELOAD: '/x.so' } })).rejects.toMatchObject({
      issues: [{ path: 'env.LD_PRELOAD' }],
    });
    expect(transport.argvs).toEqual([]);
    await engine.exec('m', ['true'], { env: { TOKEN: 't', https_proxy: 'http://p:1' } });
    expect(transport.argvs).toEqual([['smolvm', 'machine', 'exec', '--name', 'm', '--env', 'TOKEN', '--env', 'https_proxy', '--', 'true']]);
  });

  // The fake finds its machine database from HOME, as smolvm does: passed on, a guest HOME would
  // send smolvm to another one ("vm not found") instead of reaching the guest.
  it('a guest HOME never moves smolvm to another machine database', async () => {
    const fake = createFakeSmolvm({ env: { HOME: '/home/host' } });
    const engine = new SmolvmEngine({ transport: fake });
    await engine.create({ name: 'm', image: 'alpine', labels: {}, network });
    await engine.start('m');
    const calls = fake.calls.length;
    await expect(engine.exec('m', ['sh', '-c', 'echo $HOME'], { env: { HOME: '/tmp/guest-home' } })).rejects.toThrow(/env\.HOME: smolvm reads HOME itself/);
    expect(fake.calls.length).toBe(calls);
    expect((await engine.exec('m', ['sh', '-c', 'echo ok'])).stdout).toBe('ok\n');
  });
});
