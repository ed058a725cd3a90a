/**
 * Namesakes left alone, on this host's real iptables, iproute2, Docker and Podman: a firewall
 * chain named after a launch but without its tag, a live Docker route's chain seen by a Podman
 * prune, a host interface with the name of a route's bridge but not its mark, a container with
 * the name of an image build's builder. claude-bottle reads back its own mark before it deletes
 * anything, so none of them is touched.
 *
 * Everything made here is made by this file (names with its random run id) and removed after.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it, type TestContext } from 'vitest';
import { isolatedCliEnv } from '../../src/cli/capture.ts';
import { main } from '../../src/cli/main.ts';
import { BOTTLE_LABEL, LAUNCH_LABEL } from '../../src/engine/types.ts';
import { DockerEngine } from '../../src/engines/docker/engine.ts';
import type { ParsedNetwork } from '../../src/engines/container/cli.ts';
import { chainName, IptablesFirewall } from '../../src/engines/container/firewall.ts';
import { imageArgv } from '../../src/engines/container/images.ts';
import { bridgeHook } from '../../src/engines/podman/bridge.ts';
import { podmanEnvironment } from '../../src/engines/podman/containers-conf.ts';
import { PodmanEngine } from '../../src/engines/podman/engine.ts';
import { inBuilder } from '../../src/image/build.ts';
import { BuildRun } from '../../src/image/progress.ts';
import { createProcessTransport } from '../../src/transport/process.ts';

const run = randomBytes(4).toString('hex');
const launchId = `cbns${run}`;
const transport = createProcessTransport();
const sh = async (...argv: string[]): Promise<string> => {
  const result = await transport.run(argv);
  expect(result.exitCode, `${argv.join(' ')}: ${result.stderr}`).toBe(0);
  return result.stdout;
};
const docker = inject('docker');
const podman = inject('podman');
const rootSkip = process.getuid?.() === 0 ? undefined : 'needs root (iptables, ip link)';

function gate(ctx: TestContext, reason: string | undefined, broken?: string): void {
  if (reason === undefined) return;
  if (broken !== undefined) throw new Error(broken);
  if (process.env.CI === 'true') throw new Error(`these tests must run in CI: ${reason}`);
  ctx.skip(reason);
}

describe('a firewall chain named after a launch, without its tag', () => {
  const chain = chainName(launchId);
  const jump = ['-i', `cbnj${run.slice(0, 6)}`, '-j', chain];
  afterAll(async () => {
    if (rootSkip) return;
    await transport.run(['iptables', '-w', '-D', 'INPUT', ...jump]);
    await transport.run(['iptables', '-w', '-F', chain]);
    await transport.run(['iptables', '-w', '-X', chain]);
  });

  it('is neither listed as a leftover nor removed, and neither is the jump to it', async (ctx) => {
    gate(ctx, rootSkip);
    // Someone else's chain of that name, jumped to for an interface that does not exist (it matches nothing).
    await sh('iptables', '-w', '-N', chain);
    await sh('iptables', '-w', '-A', chain, '-j', 'RETURN');
    await sh('iptables', '-w', '-A', 'INPUT', ...jump);
    const firewall = new IptablesFirewall(transport, 'podman');
    expect((await firewall.list()).map((l) => l.launchId)).not.toContain(launchId);
    expect(await firewall.remove(launchId)).toBe(false);
    const rules = await sh('iptables', '-w', '-S');
    expect(rules).toContain(`-N ${chain}`);
    expect(rules).toContain(`-A ${chain} -j RETURN`);
    expect(rules).toContain(`-A INPUT ${jump.join(' ')}`);
  });
});

describe("a live Docker bottle's firewall chain, seen by Podman", () => {
  const dockerLaunch = `cbdk${run}`;
  const engine = new DockerEngine({ transport });
  let network: string | undefined;
  let work = '';
  afterAll(async () => {
    if (network) await engine.removeNetwork(network);
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('is not a leftover to a Podman prune: the chain and its jumps stay', async (ctx) => {
    const skip = rootSkip ?? (docker.engine !== 'ready' ? docker.reason : podman.engine !== 'ready' ? podman.reason : undefined);
    gate(ctx, skip, docker.engine === 'broken' ? docker.reason : podman.engine === 'broken' ? podman.reason : undefined);
    // The Docker route as a launch makes it (no record: an SDK process's), opened on one port.
    const route = await engine.hostRoute('m', { egress: false, labels: { [BOTTLE_LABEL]: '1', [LAUNCH_LABEL]: dockerLaunch } });
    const made = route.network ?? '';
    network = made;
    await route.allow?.([41999]);
    const chain = chainName(dockerLaunch);
    const before = (await sh('iptables', '-w', '-S')).split('\n').filter((l) => l.includes(chain));
    expect(before.length).toBeGreaterThanOrEqual(5);
    work = await mkdtemp(join(tmpdir(), 'claude-bottle-namesakes-'));
    const env = { ...isolatedCliEnv(work), PODMAN_BIN: 'podman' };
    expect(await main(['prune', '--backend', 'podman', '--orphans'], env)).toBe(0);
    expect((await sh('iptables', '-w', '-S')).split('\n').filter((l) => l.includes(chain))).toEqual(before);
    // Docker's own removal still takes them.
    await engine.removeNetwork(made);
    network = undefined;
    expect(await sh('iptables', '-w', '-S')).not.toContain(chain);
  });
});

describe("an interface with the name of a route's bridge, without its mark", () => {
  const iface = `cbns${run.slice(0, 6)}`;
  const network: ParsedNetwork = {
    id: run,
    name: `claude-bottle-${launchId}`,
    labels: { [LAUNCH_LABEL]: launchId },
    gateway: '198.18.251.1',
    prefixLength: 24,
    hostInterface: iface,
  };
  const hook = bridgeHook(transport);
  const show = async (): Promise<string> => (await transport.run(['ip', '-o', 'addr', 'show', 'dev', iface])).stdout;
  afterAll(async () => {
    if (!rootSkip) await transport.run(['ip', 'link', 'del', 'dev', iface]);
  });

  it('is refused by a route (not adopted, addressed or marked) and not deleted with the network; ours is', async (ctx) => {
    gate(ctx, rootSkip);
    await sh('ip', 'link', 'add', 'name', iface, 'type', 'bridge');
    await expect(hook.created?.(network)).rejects.toThrow(/already exists and is not this launch's/);
    expect(await show()).not.toContain('198.18.251.1');
    expect(await sh('ip', '-o', 'link', 'show', 'dev', iface)).not.toContain('alias');
    // With no address and no ports, and not ours: left alone on removal.
    await hook.removed?.(network);
    expect(await sh('ip', '-o', 'link', 'show', 'dev', iface)).toContain(iface);
    await sh('ip', 'link', 'del', 'dev', iface);
    // Ours (made by the hook, marked): deleted.
    await hook.created?.(network);
    expect(await show()).toContain('inet 198.18.251.1/24');
    await hook.removed?.(network);
    expect((await transport.run(['ip', 'link', 'show', 'dev', iface])).exitCode).not.toBe(0);
  });

  it("on real podman: a bridge that took our network's interface name after ours went stays", async (ctx) => {
    gate(ctx, rootSkip ?? (podman.engine === 'ready' ? undefined : podman.reason), podman.engine === 'broken' ? podman.reason : undefined);
    const engine = new PodmanEngine({ transport });
    const route = await engine.hostRoute('m', { egress: false, labels: { [LAUNCH_LABEL]: launchId } });
    const info = await engine.networkStatus(route.network ?? '');
    const bridge = info?.hostInterface ?? '';
    try {
      expect(await sh('ip', '-o', 'link', 'show', 'dev', bridge)).toContain(`alias ${LAUNCH_LABEL}=${launchId}`);
      // Ours goes (as netavark would take it with the last container); another bridge of that name comes.
      await sh('ip', 'link', 'del', 'dev', bridge);
      await sh('ip', 'link', 'add', 'name', bridge, 'type', 'bridge');
      await engine.removeNetwork(info?.id ?? '');
      expect(await sh('ip', '-o', 'link', 'show', 'dev', bridge)).toContain(bridge);
      expect(await engine.networkStatus(route.network ?? '')).toBeUndefined();
    } finally {
      await transport.run(['ip', 'link', 'del', 'dev', bridge]);
      await transport.run(['podman', 'network', 'rm', route.network ?? ''], { env: (await podmanEnvironment()).env });
      await engine.removeRouteLeftovers(launchId);
    }
  });
});

for (const cli of ['docker', 'podman'] as const) {
  describe(`a container with the name of an image build's builder on ${cli}`, () => {
    const setup = cli === 'docker' ? docker : podman;
    const name = `claude-bottle-image-build-${run}`;
    const env = async () => (cli === 'podman' ? (await podmanEnvironment()).env : {});
    afterAll(async () => {
      if (setup.engine === 'ready') await transport.run([cli, 'rm', '-f', name], { env: await env() });
    });

    it('stays when a build could not make its builder', async (ctx) => {
      gate(ctx, setup.engine === 'ready' ? undefined : setup.reason, setup.engine === 'broken' ? setup.reason : undefined);
      if (setup.engine !== 'ready') return;
      const made = await transport.run([cli, 'create', '--pull', 'never', '--network', 'none', '--name', name, setup.image, 'true'], { env: await env() });
      expect(made.exitCode, made.stderr).toBe(0);
      const buildTransport = createProcessTransport({ env: { ...process.env, ...(await env()) } });
      await expect(inBuilder(new BuildRun(buildTransport, {}), imageArgv(cli), name, setup.image, async () => 'built')).rejects.toThrow(
        /creating the build container/,
      );
      const still = await transport.run([cli, 'container', 'inspect', '--format', '{{.Id}}', name], { env: await env() });
      expect(still.stdout.trim()).toBe(made.stdout.trim());
    });
  });
}
