/**
 * A bundle's daemons, reached from inside a real Docker guest: the supervise MCP server and the
 * (fake) pipelock run on the host, bound to the gateway of an `--internal` network this file
 * creates; a busybox container on that network runs each daemon's `guestProbe`, calls the MCP
 * server and fetches through the proxy. After `bundle.stop()` every probe fails. Nothing leaves
 * this machine: the network is internal and every server listens on its gateway or loopback.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it, type TestContext } from 'vitest';
import { startBundle, type Bundle } from '../../src/bundle/bundle.ts';
import { guestProbe } from '../../src/daemon/daemon.ts';
import { DockerEngine } from '../../src/engines/docker/engine.ts';
import { pipelockDaemon } from '../../src/daemons/pipelock/daemon.ts';
import { proxyEnv } from '../../src/provision/proxy-env.ts';
import { superviseDaemon } from '../../src/daemons/supervise/server.ts';
import { fakePipelockBin } from '../../src/testing/pipelock.ts';
import { createProcessTransport } from '../../src/transport/process.ts';

const setup = inject('docker');
const inCI = process.env.CI === 'true';
const skipReason = setup.engine === 'ready' ? undefined : setup.reason;
const run = randomBytes(3).toString('hex');
const transport = createProcessTransport();

async function docker(...args: string[]): Promise<string> {
  const result = await transport.run(['docker', ...args]);
  if (result.exitCode !== 0) throw new Error(`docker ${args.join(' ')}: ${result.stderr}`);
  return result.stdout.trim();
}

const test = (title: string, body: () => Promise<void>): void => {
  it(title, async (ctx: TestContext) => {
    if (skipReason !== undefined) ctx.skip(skipReason);
    await body();
  });
};

describe('bundle reachability availability', () => {
  it('a Docker engine answers and the test image is ready', (ctx) => {
    if (setup.engine === 'ready') return;
    if (setup.engine === 'broken') throw new Error(setup.reason);
    if (inCI) throw new Error(`Docker tests must run in CI: ${setup.reason}. Run .ci/docker.sh first.`);
    ctx.skip(setup.reason);
  });
});

describe('a bundle reached from a docker guest on an --internal network', () => {
  const network = `cbb-${run}`;
  const machine = `cbb-${run}-guest`;
  let dir: string;
  let gateway = '';
  let upstream: Server | undefined;

  beforeAll(async () => {
    if (skipReason !== undefined) return;
    dir = await mkdtemp(join(tmpdir(), 'claude-bottle-bundle-'));
    await docker('network', 'create', '--internal', '--label', `claude-bottle.bundle-test=${run}`, network);
    gateway = await docker('network', 'inspect', '--format', '{{(index .IPAM.Config 0).Gateway}}', network);
  });
  afterAll(async () => {
    if (skipReason !== undefined) return;
    await new DockerEngine({ transport }).remove(machine);
    await transport.run(['docker', 'network', 'rm', network]);
    if (upstream) await new Promise((r) => upstream?.close(r));
    await rm(dir, { recursive: true, force: true });
  });

  test('each daemon answers its guest probe, MCP calls and proxied fetches work; after stop every probe fails', async () => {
    if (setup.engine !== 'ready') throw new Error('unreachable');
    // On a user network the host is its gateway: the daemons bind it and the guest dials it.
    const route = { bindHost: gateway, guestHost: gateway };

    // An "allowed host": a server on the host's loopback, reached by name through the proxy only.
    upstream = createServer((req, res) => res.end(`upstream says hi to ${req.url}`));
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    const upstreamPort = (upstream.address() as { port: number }).port;

    const supervise = superviseDaemon();
    const pipelock = pipelockDaemon({ allowHosts: ['localhost'], allowCidrs: ['127.0.0.0/8'] }, { bin: fakePipelockBin(), configDir: join(dir, 'state') });
    const bundle: Bundle = await startBundle([pipelock, supervise], { host: route.bindHost });
    try {
      expect(bundle.csv).toBe('pipelock,supervise');
      for (const d of bundle.daemons) expect(d.host).toBe(gateway);

      const engine = new DockerEngine({ transport, network });
      await engine.create({
        name: machine,
        image: setup.image,
        labels: { 'claude-bottle.bundle-test': run },
        network: { enabled: true, allowHosts: [], allowCidrs: [] },
      });
      await engine.start(machine);

      for (const daemon of bundle.daemons) {
        const probe = await engine.exec(machine, guestProbe(daemon, route.guestHost), { timeoutMs: 30_000 });
        expect(probe, `${daemon.name}: ${probe.stderr}`).toMatchObject({ exitCode: 0, stdout: expect.stringMatching(/^reachable via \w+/) });
      }

      // The agent's side of supervise: one MCP tool call over HTTP from the guest.
      const mcpUrl = bundle.get('supervise')!.url;
      const body = JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'report_progress', arguments: { summary: `from ${machine}` } },
      });
      // The credential travels in the exec's environment; the guest's shell puts it in the header, never in docker's argv.
      const call = await engine.exec(
        machine,
        // busybox wget adds its own form Content-Type, which the SDK refuses: speak HTTP/1.0 through nc.
        [
          'sh',
          '-c',
          'printf "POST /mcp HTTP/1.0\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: %s\r\n\r\n%s" "$2" "$TOKEN" "${#1}" "$1" | nc -w 5 "$2" "$3" | sed "1,/^\r*$/d"',
          'sh',
          body,
          new URL(mcpUrl).hostname,
          new URL(mcpUrl).port,
        ],
        { timeoutMs: 30_000, env: { TOKEN: supervise.token } },
      );
      expect(call.exitCode, call.stderr).toBe(0);
      expect(JSON.parse(call.stdout)).toMatchObject({ id: 1, result: { content: [{ type: 'text', text: 'Progress recorded.' }] } });
      expect(supervise.calls).toEqual([{ tool: 'report_progress', arguments: { summary: `from ${machine}` }, at: expect.any(Date) }]);

      // The egress path: the proxy env sends the guest's wget through pipelock; only allowed hosts pass.
      const env = proxyEnv({ proxyUrl: bundle.get('pipelock')!.url, noProxy: [gateway] });
      const allowed = await engine.exec(machine, ['wget', '-q', '-O', '-', `http://localhost:${upstreamPort}/ok`], { env, timeoutMs: 30_000 });
      expect(allowed, allowed.stderr).toMatchObject({ exitCode: 0, stdout: 'upstream says hi to /ok' });
      const blocked = await engine.exec(machine, ['wget', '-q', '-O', '-', 'http://blocked.invalid/'], { env, timeoutMs: 30_000 });
      expect(blocked.exitCode).not.toBe(0);
      expect(blocked.stderr).toMatch(/403/);
    } finally {
      await bundle.stop();
    }

    for (const daemon of bundle.daemons) {
      const probe = await new DockerEngine({ transport, network }).exec(machine, guestProbe(daemon, gateway), { timeoutMs: 60_000 });
      expect(probe, `${daemon.name} still reachable after stop: ${probe.stdout}`).toMatchObject({
        exitCode: 1,
        stderr: expect.stringContaining(`${daemon.name}: cannot reach`),
      });
    }
  });

  it("the agent image (no nc or wget: curl) reaches a daemon through the probe's fallbacks", async (ctx: TestContext) => {
    if (skipReason !== undefined) ctx.skip(skipReason);
    const agentImage = inject('agentImage');
    if (agentImage.state !== 'ready') ctx.skip(`agent image: ${agentImage.reason}`);
    if (agentImage.state !== 'ready') return;
    const bundle = await startBundle([superviseDaemon()], { host: gateway });
    const name = `${machine}-agent`;
    const engine = new DockerEngine({ transport, network });
    try {
      await engine.create({
        name,
        image: agentImage.image,
        labels: { 'claude-bottle.bundle-test': run },
        network: { enabled: true, allowHosts: [], allowCidrs: [] },
      });
      await engine.start(name);
      const daemon = bundle.daemons[0]!;
      const up = await engine.exec(name, guestProbe(daemon, gateway), { timeoutMs: 30_000 });
      expect(up, up.stderr).toMatchObject({ exitCode: 0, stdout: 'reachable via curl\n' });
      await bundle.stop();
      expect((await engine.exec(name, guestProbe(daemon, gateway), { timeoutMs: 60_000 })).exitCode).toBe(1);
    } finally {
      await bundle.stop();
      await engine.remove(name);
    }
  });
});
