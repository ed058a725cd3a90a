// An SDK caller's host route, made with only its launch label and never recorded, is still
// claude-bottle's to clean: `prune --orphans` finds its network (marked `claude-bottle=1` by the
// engine whatever the caller passed) and, with it, its firewall chain.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it, type TestContext } from 'vitest';
import { isolatedCliEnv } from '../../src/cli/capture.ts';
import { main } from '../../src/cli/main.ts';
import { AGENT_LABEL, LAUNCH_LABEL } from '../../src/engine/types.ts';
import { chainName } from '../../src/engines/container/firewall.ts';
import { DockerEngine } from '../../src/engines/docker/engine.ts';
import { createProcessTransport } from '../../src/transport/process.ts';

const setup = inject('docker');
const reason = setup.engine !== 'ready' ? setup.reason : process.getuid?.() === 0 ? undefined : 'needs root (iptables)';

function gate(ctx: TestContext): void {
  if (reason === undefined) return;
  if (setup.engine === 'broken') throw new Error(reason);
  if (process.env.CI === 'true') throw new Error(`Docker tests must run in CI: ${reason}. Run .ci/docker.sh first.`);
  ctx.skip(reason);
}

describe('an unrecorded SDK route without the bottle marker in its labels', () => {
  const transport = createProcessTransport();
  const engine = new DockerEngine({ transport });
  const launchId = `cbsdk${randomBytes(6).toString('hex')}`;
  // Its own agent label, so the prune touches nothing on this host but what this test made.
  const agent = `prune-sdk-${launchId.slice(5)}`;
  let network: string | undefined;
  let work = '';
  afterAll(async () => {
    if (network) await engine.removeNetwork(network).catch(() => undefined);
    await engine.removeRouteLeftovers(launchId).catch(() => undefined);
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('is removed by prune --orphans (of its agent), network and firewall chain', async (ctx) => {
    gate(ctx);
    const route = await engine.hostRoute('m', { egress: false, labels: { [LAUNCH_LABEL]: launchId, [AGENT_LABEL]: agent } });
    network = route.network;
    expect(network).toBeDefined();
    const rules = async () => (await transport.run(['iptables', '-w', '-S'])).stdout;
    expect(await rules()).toContain(`-N ${chainName(launchId)}`);
    work = await mkdtemp(join(tmpdir(), 'claude-bottle-prune-sdk-'));
    expect(await main(['prune', '--backend', 'docker', '--orphans', '--agent', agent], { ...isolatedCliEnv(work), DOCKER_BIN: 'docker' })).toBe(0);
    expect(await engine.networkStatus(network ?? '')).toBeUndefined();
    expect(await rules()).not.toContain(chainName(launchId));
    network = undefined;
  });
});
