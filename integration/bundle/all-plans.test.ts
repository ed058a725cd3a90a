/**
 * One bottle with all four inner plans, on Docker with the real agent image: a CA, egress through
 * the (fake) pipelock, a host repository through the git gate, and a supervise MCP server. The
 * launch makes its own `--internal` network (the engine's host route); each daemon binds that
 * network's gateway and is reached from inside the guest. Nothing leaves this machine: the
 * network is internal, the allowed "outside" host is a server on this host's loopback reached
 * through the proxy, and the refused one is `blocked.invalid`.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it, type TestContext } from 'vitest';
import { parseAgentSpec } from '../../src/agent/spec.ts';
import type { Bottle } from '../../src/bottle/bottle.ts';
import { launch, type LaunchStep } from '../../src/bottle/launch.ts';
import { guestProbe } from '../../src/daemon/daemon.ts';
import { DockerEngine } from '../../src/engines/docker/engine.ts';
import { PIPELOCK_BIN_ENV } from '../../src/daemons/pipelock/daemon.ts';
import { GUEST_CA_PATH, GUEST_MCP_CONFIG_FILE } from '../../src/plan/plan.ts';
import { prepare } from '../../src/plan/prepare.ts';
import { connectOutcome, observeHostRoutes } from '../../src/testing/backend-contract.ts';
import { hostRepo } from '../../src/testing/doubles.ts';
import { selfSignedCa } from '../../src/testing/doubles.ts';
import { fakePipelockBin } from '../../src/testing/pipelock.ts';
import { createProcessTransport } from '../../src/transport/process.ts';

const docker = inject('docker');
const agentImage = inject('agentImage');
const inCI = process.env.CI === 'true';
const skipReason = docker.engine !== 'ready' ? docker.reason : agentImage.state !== 'ready' ? `agent image: ${agentImage.reason}` : undefined;
const run = randomBytes(3).toString('hex');
const transport = createProcessTransport();

describe('all-plans availability', () => {
  it('a Docker engine answers and the agent image is ready', (ctx) => {
    if (skipReason === undefined) return;
    if (docker.engine === 'broken') throw new Error(docker.reason);
    if (inCI) throw new Error(`Docker tests must run in CI: ${skipReason}. Run .ci/docker.sh first.`);
    ctx.skip(skipReason);
  });
});

describe('a bottle with ca, egress, git and supervise, on Docker', () => {
  let dir = '';
  let upstream: Server | undefined;
  let bottle: Bottle | undefined;

  beforeAll(async () => {
    if (skipReason !== undefined) return;
    dir = await mkdtemp(join(tmpdir(), 'claude-bottle-all-plans-'));
  });
  afterAll(async () => {
    await bottle?.remove().catch(() => undefined);
    if (upstream) await new Promise((r) => upstream?.close(r));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('launches; every daemon is reachable from the guest, the clone, the proxy and the MCP config work; remove() takes it all down', async (ctx: TestContext) => {
    if (skipReason !== undefined) return ctx.skip(skipReason);
    if (agentImage.state !== 'ready') throw new Error('unreachable');

    // The host side: a CA, a repository, and an "allowed host" on this host's loopback.
    const { cert: caFile, pem } = await selfSignedCa(dir, `claude-bottle all-plans ${run}`);
    const repo = join(dir, 'repo');
    const main = await hostRepo(repo, { 'README.md': `all plans ${run}\n` });
    upstream = createServer((req, res) => res.end(`upstream says hi to ${req.url}`));
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    const upstreamPort = (upstream.address() as { port: number }).port;

    const spec = parseAgentSpec({
      name: `ap-${run}`,
      image: agentImage.image,
      prompt: 'You work on the repository.\n',
      ca: { file: caFile },
      egress: { allowHosts: ['localhost'], allowCidrs: ['127.0.0.0/8'] },
      git: { repo },
      supervise: {},
    });
    const plan = await prepare(spec, {
      env: { HOME: join(dir, 'home'), CLAUDE_BOTTLE_STATE_DIR: join(dir, 'state'), [PIPELOCK_BIN_ENV]: fakePipelockBin() },
    });
    expect(plan.daemons).toEqual(['pipelock', 'git-gate', 'supervise']);

    const observed = observeHostRoutes(new DockerEngine({ transport }));
    const steps: LaunchStep[] = [];
    bottle = await launch(plan, { engine: observed.engine, onStep: (step) => steps.push(step) });
    const route = observed.routes.get(bottle.name);
    if (!route) return expect.fail('the launch got no host route');
    const { guestHost, network } = route.route;
    expect(network).toBe(`claude-bottle-${bottle.launchId}`);
    expect(steps).toEqual(['route', 'bundle', 'create', 'start', 'probe', 'provision-ca', 'provision-files', 'provision-git', 'provision-supervise']);
    expect(bottle.daemons?.csv).toBe('git-gate,pipelock,supervise');
    const daemons = bottle.daemons?.daemons ?? [];
    expect(daemons.map((d) => d.name)).toEqual(['pipelock', 'git-gate', 'supervise']);

    // Each daemon, from inside the guest, as the launch probed it (the agent image has curl).
    for (const daemon of daemons) {
      const probe = await bottle.engine.exec(bottle.name, guestProbe(daemon, guestHost), { timeoutMs: 30_000 });
      expect(probe, `${daemon.name}: ${probe.stderr}`).toMatchObject({ exitCode: 0, stdout: 'reachable via curl\n' });
    }
    const sh = async (script: string, ...args: string[]): Promise<string> => {
      const result = await bottle!.exec(['sh', '-c', script, 'sh', ...args], { timeoutMs: 60_000 });
      expect(result.exitCode, `${script}: ${result.stderr}`).toBe(0);
      return result.stdout;
    };

    // ca: installed and named in every exec's env.
    expect(await sh('stat -c "%a %u %g" "$1"; cat "$1"', GUEST_CA_PATH)).toBe(`644 0 0\n${pem}`);
    expect(await sh('printf %s "$NODE_EXTRA_CA_CERTS"')).toBe(GUEST_CA_PATH);

    // git: the workspace is a clone; with the proxy env set, git still reaches the gate directly (NO_PROXY).
    const workspace = plan.git?.workspace ?? '';
    expect(await sh('git -C "$1" rev-parse HEAD', workspace)).toBe(`${main}\n`);
    expect(await sh('git -C "$1" fetch -q origin && git -C "$1" rev-parse origin/main', workspace)).toBe(`${main}\n`);

    // egress: through HTTPS_PROXY an allowed host answers; a host off the allow-list is refused by the proxy.
    const proxy = await sh('printf %s "$HTTPS_PROXY"');
    expect(new URL(proxy).hostname).toBe(guestHost);
    expect(await sh(`curl -sS --noproxy '' "http://localhost:$1/ok"`, String(upstreamPort))).toBe('upstream says hi to /ok');
    expect(await sh(`curl -sS -o /dev/null -w '%{http_code}' http://blocked.invalid/`)).toBe('403');
    const tunnel = await bottle.exec(['curl', '-sS', '-o', '/dev/null', 'https://blocked.invalid/'], { timeoutMs: 60_000 });
    expect(tunnel.exitCode).not.toBe(0);
    expect(tunnel.stderr).toMatch(/403/);

    // supervise: the MCP config, and the server answering from the guest.
    const mcpPath = `${plan.agent.user.home}/${GUEST_MCP_CONFIG_FILE}`;
    expect(await sh('stat -c "%a %u %g" "$1"', mcpPath)).toBe(`600 ${plan.agent.user.uid} ${plan.agent.user.gid}\n`);
    const supervise = daemons.find((d) => d.name === 'supervise');
    const mcpUrl = `http://${guestHost}:${supervise?.port}/mcp`;
    expect(JSON.parse(await sh('cat "$1"', mcpPath))).toEqual({
      mcpServers: { supervisor: { type: 'http', url: mcpUrl, headers: { Authorization: expect.stringMatching(/^Bearer [A-Za-z0-9_-]{43}$/) } } },
    });
    expect(bottle.claudeArgv()).toEqual(['claude', '--append-system-prompt-file', plan.prompt.guestPath, '--mcp-config', mcpPath, '--strict-mcp-config']);
    // The header comes from the 0600 config, through the guest's shell: never argv.
    const listed = await sh(
      `node -e 'const c=require(process.argv[1]).mcpServers.supervisor;fetch(c.url,{method:"POST",headers:{...c.headers,"content-type":"application/json",accept:"application/json, text/event-stream"},body:process.argv[2]}).then(r=>r.text()).then(t=>console.log(t))' "$1" "$2"`,
      mcpPath,
      JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    );
    const anonymous = await sh(`curl -s -o /dev/null -w '%{http_code}' -H 'content-type: application/json' --data '{}' "$1"`, mcpUrl);
    expect(anonymous).toBe('401');
    expect((JSON.parse(listed) as { result: { tools: { name: string }[] } }).result.tools.map((t) => t.name)).toEqual(['report_progress', 'request_review']);

    // remove(): the machine, then every daemon (refused while the network still exists), then the network.
    const atRelease = new Map<string, string>();
    observed.beforeRelease = async () => {
      for (const d of daemons) atRelease.set(d.name, await connectOutcome(new URL(d.url).hostname, d.port));
    };
    await bottle.remove();
    expect(Object.fromEntries(atRelease)).toEqual({ pipelock: 'refused', 'git-gate': 'refused', supervise: 'refused' });
    expect(route.releases).toBe(1);
    expect((await transport.run(['docker', 'network', 'inspect', network ?? ''])).exitCode, `network ${network} after remove()`).not.toBe(0);
  });
});
