/**
 * The bottle as a boundary, attacked on real Docker and on real Podman with real git on both
 * sides: bottle A (the agent image, with the git gate, supervise and the fake pipelock), a second
 * bottle B of the same agent, and an outsider container on the engine's default bridge. Each of B
 * and the outsider fails to clone A's repository, push into it or report to A's supervisor, even
 * holding A's credentials; A reaches nothing on the host but its own daemons (a host listener on
 * 0.0.0.0 and on ::, over IPv4 and over IPv6 link-local, B's daemons, the default bridge's
 * gateway); A's own clone, push, MCP call and proxied request still work; a commit no served ref
 * reaches cannot be fetched; no credential is in any engine argv, any host process's argv, or the
 * bottle's record; and removing A removes its firewall chain.
 *
 * Traffic goes only to this host's addresses and to containers and networks this file creates.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it, type TestContext } from 'vitest';
import { parseAgentSpec } from '../../src/agent/spec.ts';
import type { Bottle } from '../../src/bottle/bottle.ts';
import { launch } from '../../src/bottle/launch.ts';
import type { ContainerEngine } from '../../src/engines/container/engine.ts';
import { chainName } from '../../src/engines/container/firewall.ts';
import { DockerEngine } from '../../src/engines/docker/engine.ts';
import { podmanEnvironment } from '../../src/engines/podman/containers-conf.ts';
import { PodmanEngine } from '../../src/engines/podman/engine.ts';
import { PIPELOCK_BIN_ENV } from '../../src/daemons/pipelock/daemon.ts';
import { GUEST_MCP_CONFIG_FILE } from '../../src/plan/plan.ts';
import { prepare } from '../../src/plan/prepare.ts';
import { GUEST_GIT_CREDENTIAL_FILE } from '../../src/provision/git.ts';
import { hostGit, hostRepo } from '../../src/testing/doubles.ts';
import { recordCalls } from '../../src/testing/engine-contract.ts';
import { fakePipelockBin } from '../../src/testing/pipelock.ts';
import { createProcessTransport } from '../../src/transport/process.ts';

const inCI = process.env.CI === 'true';
const run = randomBytes(3).toString('hex');
const raw = createProcessTransport();

/** One engine under attack: its adapter (argv recorded), its images, and why it is skipped (or broken). */
interface Side {
  readonly kind: 'docker' | 'podman';
  readonly engine: ContainerEngine;
  readonly calls: () => readonly (readonly string[])[];
  readonly agentImage: string;
  /** The test image (busybox): enough for a bottle with supervise only. */
  readonly plainImage: string;
  /** The network a machine with network enabled joins: the outsider's. */
  readonly defaultNetwork: string;
  readonly skip?: string;
  readonly broken?: string;
  /** The engine's own CLI, as another tool on this host would run it. */
  readonly cli: (...args: string[]) => Promise<{ exitCode: number; stderr: string }>;
}

function dockerSide(): Side {
  const docker = inject('docker');
  const agentImage = inject('agentImage');
  const { transport, calls } = recordCalls(createProcessTransport());
  return {
    kind: 'docker',
    engine: new DockerEngine({ transport }),
    calls,
    agentImage: agentImage.state === 'ready' ? agentImage.image : '',
    plainImage: docker.engine === 'ready' ? docker.image : '',
    defaultNetwork: 'bridge',
    ...(docker.engine !== 'ready' ? { skip: docker.reason } : agentImage.state !== 'ready' ? { skip: `agent image: ${agentImage.reason}` } : {}),
    ...(docker.engine === 'broken' ? { broken: docker.reason } : {}),
    cli: (...args) => raw.run(['docker', ...args]),
  };
}

function podmanSide(): Side {
  const podman = inject('podman');
  const { transport, calls } = recordCalls(createProcessTransport());
  const agentImage = podman.engine === 'ready' ? podman.agentImage : undefined;
  return {
    kind: 'podman',
    engine: new PodmanEngine({ transport }),
    calls,
    agentImage: agentImage ?? '',
    plainImage: podman.engine === 'ready' ? podman.image : '',
    defaultNetwork: 'podman',
    ...(podman.engine !== 'ready'
      ? { skip: podman.reason }
      : agentImage === undefined
        ? { skip: 'podman has no agent image (see the podman global setup)' }
        : {}),
    ...(podman.engine === 'broken' ? { broken: podman.reason } : {}),
    cli: async (...args) => raw.run(['podman', ...args], { env: (await podmanEnvironment()).env }),
  };
}

for (const side of [dockerSide(), podmanSide()]) boundary(side);

interface Target {
  readonly bottle: Bottle;
  readonly gateway: string;
  readonly ports: Readonly<Record<string, number>>;
  readonly gitToken: string;
  readonly mcpToken: string;
}

function boundary(side: Side): void {
  const { kind, engine, calls, skip: skipReason } = side;
  const outsiderName = `cb-outsider-${kind}-${run}`;

  describe(`boundary availability: ${kind}`, () => {
    it(`${kind} runs and the agent image is ready`, (ctx) => {
      if (skipReason === undefined) return;
      if (side.broken !== undefined) throw new Error(side.broken);
      if (inCI) throw new Error(`${kind} boundary tests must run in CI: ${skipReason}`);
      ctx.skip(skipReason);
    });
  });

  describe(`a bottle on ${kind} is a boundary`, () => {
    let dir = '';
    let repo = '';
    let orphan = '';
    let a: Target | undefined;
    let b: Target | undefined;
    let defaultGateway = '';
    const servers: Server[] = [];

    /** A host HTTP server on `host` (a wildcard: every host address), answering `marker`. */
    const listener = async (host: string, marker: string): Promise<number> => {
      const server = createServer((_req, res) => res.end(marker));
      server.listen(0, host);
      await once(server, 'listening');
      servers.push(server);
      return (server.address() as { port: number }).port;
    };

    const launchTarget = async (slug: string): Promise<Target> => {
      const plan = await prepare(
        parseAgentSpec({
          name: slug,
          image: side.agentImage,
          git: { repo },
          supervise: {},
          egress: { allowHosts: ['localhost'], allowCidrs: ['127.0.0.0/8'] },
        }),
        { env: { HOME: join(dir, 'home'), CLAUDE_BOTTLE_STATE_DIR: join(dir, `state-${slug}`), [PIPELOCK_BIN_ENV]: fakePipelockBin() } },
      );
      const bottle = await launch(plan, { engine });
      const ports = Object.fromEntries((bottle.daemons?.daemons ?? []).map((d) => [d.name, d.port]));
      const gateway = new URL(bottle.daemons?.daemons[0]?.url ?? 'http://x').hostname;
      const home = plan.agent.user.home;
      const gitConf = (await bottle.exec(['cat', `${home}/${GUEST_GIT_CREDENTIAL_FILE}`])).stdout;
      const mcp = JSON.parse((await bottle.exec(['cat', `${home}/${GUEST_MCP_CONFIG_FILE}`])).stdout) as {
        mcpServers: Record<string, { headers?: { Authorization?: string } }>;
      };
      const gitToken = /Bearer (\S+)/.exec(gitConf)?.[1] ?? '';
      const mcpToken = /^Bearer (\S+)$/.exec(mcp.mcpServers.supervisor?.headers?.Authorization ?? '')?.[1] ?? '';
      expect(gitToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(mcpToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(gitToken).not.toBe(mcpToken);
      return { bottle, gateway, ports, gitToken, mcpToken };
    };

    beforeAll(async () => {
      if (skipReason !== undefined) return;
      dir = await mkdtemp(join(tmpdir(), 'claude-bottle-boundary-'));
      repo = join(dir, 'repo');
      await hostRepo(repo, { 'README.md': `boundary ${run}\n` });
      const tree = await hostGit(repo, 'write-tree');
      orphan = await hostGit(repo, 'commit-tree', tree, '-m', 'reachable from no served ref');
      await hostGit(repo, 'update-ref', 'refs/private/secret', orphan);
      a = await launchTarget(`ba-${run}`);
      b = await launchTarget(`bb-${run}`);
      await engine.create({
        name: outsiderName,
        image: side.agentImage,
        labels: { 'claude-bottle-test.boundary': run },
        network: { enabled: true, allowHosts: [], allowCidrs: [] },
      });
      await engine.start(outsiderName);
      defaultGateway = (await engine.networkStatus(side.defaultNetwork))?.gateway ?? '';
    });
    afterAll(async () => {
      await engine.remove(outsiderName).catch(() => undefined);
      await a?.bottle.remove().catch(() => undefined);
      await b?.bottle.remove().catch(() => undefined);
      for (const s of servers) s.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    const gate = (ctx: TestContext): Target => {
      if (skipReason !== undefined) ctx.skip(skipReason);
      if (!a || !b) throw new Error('the bottles did not launch');
      return a;
    };
    /** Runs `script` in the guest with positional args; never through the proxy. */
    const inGuest = (bottle: Bottle | string, script: string, ...args: string[]) => {
      const argv = ['sh', '-c', script, 'sh', ...args];
      const env = { NO_PROXY: '*', no_proxy: '*', GIT_TERMINAL_PROMPT: '0' };
      return typeof bottle === 'string' ? engine.exec(bottle, argv, { env, timeoutMs: 60_000 }) : bottle.exec(argv, { env, timeoutMs: 60_000 });
    };
    /** What `curl` meets at `url` from a guest: the HTTP status, or `000` (no connection) with curl's exit code. */
    const curlFrom = async (who: Bottle | string, url: string, token?: string): Promise<string> => {
      // The token travels in the environment and is expanded by the guest's shell into a header file, never argv.
      const script = token
        ? 'printf "Authorization: Bearer %s\\n" "$TOKEN" > /tmp/h; curl -s -o /dev/null -m 5 -w "%{http_code}" -H @/tmp/h "$1"; echo " $?"'
        : 'curl -s -o /dev/null -m 5 -w "%{http_code}" "$1"; echo " $?"';
      const argv = ['sh', '-c', script, 'sh', url];
      const env = { NO_PROXY: '*', no_proxy: '*', ...(token ? { TOKEN: token } : {}) };
      const result = typeof who === 'string' ? await engine.exec(who, argv, { env, timeoutMs: 30_000 }) : await who.exec(argv, { env, timeoutMs: 30_000 });
      return result.stdout.trim();
    };

    it("the bottle's own clone, push into its prefix, MCP call and proxied request work", async (ctx) => {
      const { bottle, gateway, ports } = gate(ctx);
      const push = await inGuest(
        bottle,
        'cd ~/workspace && echo own > own.txt && git add own.txt && git commit -q -m own && git push -q origin HEAD:"$1" && git rev-parse HEAD',
        `bottle/ba-${run}/own`,
      );
      expect(push.exitCode, push.stderr).toBe(0);
      expect(await hostGit(repo, 'rev-parse', `refs/heads/bottle/ba-${run}/own`)).toBe(push.stdout.trim());
      // claude's side of supervise: node reads the MCP config (URL and headers) and calls a tool, as Claude Code does.
      const report = await inGuest(
        bottle,
        `node -e 'const c=require(process.argv[1]).mcpServers.supervisor;fetch(c.url,{method:"POST",headers:{...c.headers,"content-type":"application/json",accept:"application/json, text/event-stream"},body:JSON.stringify({jsonrpc:"2.0",id:1,method:"tools/call",params:{name:"report_progress",arguments:{summary:"inside"}}})}).then(r=>r.text()).then(t=>console.log(t),e=>{console.error(e);process.exit(3)})' "$1"`,
        `/home/node/${GUEST_MCP_CONFIG_FILE}`,
      );
      expect(report.exitCode, report.stderr).toBe(0);
      expect(report.stdout).toContain('Progress recorded.');
      const upstreamPort = await listener('127.0.0.1', `upstream ${run}`);
      const proxied = await bottle.exec(['curl', '-sS', '-m', '10', '--noproxy', '', `http://localhost:${upstreamPort}/`], { timeoutMs: 30_000 });
      expect(proxied, proxied.stderr).toMatchObject({ exitCode: 0, stdout: `upstream ${run}` });
      expect(Object.keys(ports).sort()).toEqual(['git-gate', 'pipelock', 'supervise']);
      expect(gateway).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    });

    it('an outsider on the default bridge reaches none of the daemons, even holding the credentials', async (ctx) => {
      const { gateway, ports, gitToken, mcpToken } = gate(ctx);
      for (const [name, port] of Object.entries(ports)) {
        const url = `http://${gateway}:${port}/`;
        expect(`${name} ${await curlFrom(outsiderName, url)}`).toMatch(new RegExp(`^${name} 000 (7|28)$`));
        expect(`${name} ${await curlFrom(outsiderName, url, name === 'supervise' ? mcpToken : gitToken)}`).toMatch(new RegExp(`^${name} 000 (7|28)$`));
      }
      const clone = await inGuest(
        outsiderName,
        'git -c http.extraHeader="Authorization: Bearer $TOKEN" clone -q "$1" /tmp/stolen',
        `http://${gateway}:${ports['git-gate']}/repo.git`,
      );
      expect(clone.exitCode).not.toBe(0);
      const before = await hostGit(repo, 'for-each-ref');
      const pushed = await inGuest(
        outsiderName,
        'cd /tmp && git init -q x && cd x && git -c user.name=o -c user.email=o@x commit -q --allow-empty -m o && git push "$1" HEAD:refs/heads/bottle/t/from-outsider',
        `http://${gateway}:${ports['git-gate']}/repo.git`,
      );
      expect(pushed.exitCode).not.toBe(0);
      expect(await hostGit(repo, 'for-each-ref')).toBe(before);
    });

    it("a second bottle reaches none of the first's daemons; the first's daemons refuse its credentials", async (ctx) => {
      const target = gate(ctx);
      const other = b as Target;
      for (const [name, port] of Object.entries(target.ports)) {
        expect(`${name} ${await curlFrom(other.bottle, `http://${target.gateway}:${port}/`, target.mcpToken)}`).toMatch(new RegExp(`^${name} 000 \\d+$`));
      }
      const clone = await inGuest(other.bottle, 'git clone -q "$1" /tmp/stolen', `http://${target.gateway}:${target.ports['git-gate']}/repo.git`);
      expect(clone.exitCode).not.toBe(0);
      // Were it to reach them, B's own credentials open nothing of A's (checked from the host, which may connect).
      const res = await fetch(`http://${target.gateway}:${target.ports.supervise}/mcp`, {
        method: 'POST',
        headers: { authorization: `Bearer ${other.mcpToken}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'report_progress', arguments: { summary: 'forged by B' } } }),
      });
      expect([res.status, await res.text()]).toEqual([401, '']);
      const gitRes = await fetch(`http://${target.gateway}:${target.ports['git-gate']}/repo.git/info/refs?service=git-upload-pack`, {
        headers: { authorization: `Bearer ${other.gitToken}` },
      });
      expect([gitRes.status, await gitRes.text()]).toEqual([401, '']);
    });

    it('from inside the bottle nothing on the host answers but its own daemons: not a 0.0.0.0 or :: listener, not the other bottle, not the default bridge gateway', async (ctx) => {
      const { bottle, gateway, ports } = gate(ctx);
      const other = b as Target;
      const any4 = await listener('0.0.0.0', 'host service');
      const any6 = await listener('::', 'host service');
      // Reachable from the host itself, to be sure the listeners answer.
      expect(await (await fetch(`http://${gateway}:${any4}/`)).text()).toBe('host service');
      for (const port of [any4, any6, 22, 2375])
        expect(`${port} ${await curlFrom(bottle, `http://${gateway}:${port}/`)}`).toMatch(new RegExp(`^${port} 000 7$`));
      for (const port of Object.values(other.ports)) expect(await curlFrom(bottle, `http://${other.gateway}:${port}/`)).toMatch(/^000 \d+$/);
      expect(defaultGateway).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect(await curlFrom(bottle, `http://${defaultGateway}:${any4}/`)).toMatch(/^000 \d+$/);
      // Its own daemons answer (401 without the credential: reached, and refused).
      for (const port of Object.values(ports)) expect(await curlFrom(bottle, `http://${gateway}:${port}/`)).toMatch(/^(401|407|400|404) 0$/);
      // IPv6 is off inside the guest, which is why the firewall has no IPv6 rules.
      const off = await bottle.exec(['cat', ...['all', 'default', 'eth0'].map((i) => `/proc/sys/net/ipv6/conf/${i}/disable_ipv6`)]);
      expect(off.stdout.split('\n').filter(Boolean)).toEqual(['1', '1', '1']);
    });

    it("over IPv6 the guest reaches nothing on the host: not a :: listener at a link-local address on its own network's bridge", async (ctx) => {
      const { bottle } = gate(ctx);
      const any6 = await listener('::', 'host service over IPv6');
      const bridge = (await engine.networkStatus(bottle.network ?? ''))?.hostInterface ?? '';
      expect(bridge).toMatch(/^[A-Za-z0-9_.-]{1,15}$/);
      // The attacker's best case: the host side of the bridge has a link-local address (docker's has one of its own).
      const address = `fe80::cb:${run.slice(0, 4)}`;
      const added = await raw.run(['ip', '-6', 'addr', 'add', `${address}/64`, 'dev', bridge, 'nodad']);
      expect(added.exitCode, added.stderr).toBe(0);
      try {
        expect(await (await fetch(`http://[::1]:${any6}/`)).text()).toBe('host service over IPv6');
        expect(await curlFrom(bottle, `http://[${address}%25eth0]:${any6}/`)).toMatch(/^000 \d+$/);
        // Nor at the address the engine gave the bridge itself, if any.
        const own = /inet6 (fe80::[0-9a-f:]+)\/64/.exec((await raw.run(['ip', '-6', '-o', 'addr', 'show', 'dev', bridge])).stdout.replace(address, ''))?.[1];
        if (own) expect(await curlFrom(bottle, `http://[${own}%25eth0]:${any6}/`)).toMatch(/^000 \d+$/);
      } finally {
        await raw.run(['ip', '-6', 'addr', 'del', `${address}/64`, 'dev', bridge]);
      }
    });

    it('a commit reachable only from a hidden ref cannot be fetched by id (protocol v2 and v0)', async (ctx) => {
      const { bottle, gitToken } = gate(ctx);
      const fetched = await inGuest(bottle, 'cd ~/workspace && git -c protocol.version=2 fetch -q origin "$1"; git cat-file -e "$1"', orphan);
      expect(fetched.exitCode, 'v2').not.toBe(0);
      // v0: git itself refuses an unadvertised want before asking, so the want is sent raw, as a hostile guest would.
      const origin = (await inGuest(bottle, 'cd ~/workspace && git remote get-url origin')).stdout.trim();
      const raw = await bottle.exec(
        [
          'sh',
          '-c',
          'printf "Authorization: Bearer %s\\n" "$TOKEN" > /tmp/h; printf "0032want %s\\n00000009done\\n" "$1" | curl -s -H @/tmp/h -H "content-type: application/x-git-upload-pack-request" --data-binary @- "$2/git-upload-pack"',
          'sh',
          orphan,
          origin,
        ],
        { env: { NO_PROXY: '*', no_proxy: '*', TOKEN: gitToken }, timeoutMs: 30_000 },
      );
      expect(raw.stdout, 'v0').toMatch(/not our ref/);
      expect(raw.stdout).not.toContain('PACK');
      const refs = await inGuest(bottle, 'cd ~/workspace && git ls-remote origin');
      expect(refs.stdout).not.toContain('refs/private');
    });

    it('no credential is in any engine argv, any host process argv or the record; remove() takes the firewall chain away', async (ctx) => {
      const target = gate(ctx);
      const other = b as Target;
      const secrets = [target.gitToken, target.mcpToken, other.gitToken, other.mcpToken];
      for (const argv of calls()) for (const s of secrets) expect(argv.join(' ')).not.toContain(s);
      for (const pid of await readdir('/proc')) {
        if (!/^\d+$/.test(pid)) continue;
        const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
        for (const s of secrets) expect(cmdline, `process ${pid}`).not.toContain(s);
      }
      const record = JSON.stringify(target.bottle.toRecord({ agent: 'x' }));
      for (const s of secrets) expect(record).not.toContain(s);

      const chain = chainName(target.bottle.launchId ?? '');
      const listed = async () => (await raw.run(['iptables', '-w', '-S'])).stdout;
      expect(await listed()).toContain(`-N ${chain}`);
      expect((await engine.listRouteLeftovers()).map((l) => l.launchId)).toContain(target.bottle.launchId);
      await target.bottle.remove();
      expect(await listed()).not.toContain(chain);
    });

    it("a network removed behind claude-bottle's back (a neighbour's prune) still has its firewall chain removed by remove()", async (ctx) => {
      gate(ctx);
      const plan = await prepare(parseAgentSpec({ name: `bc-${run}`, image: side.plainImage, supervise: {} }), {
        env: { HOME: join(dir, 'home'), CLAUDE_BOTTLE_STATE_DIR: join(dir, 'state-c') },
      });
      const bottle = await launch(plan, { engine });
      const chain = chainName(bottle.launchId ?? '');
      expect((await raw.run(['iptables', '-w', '-S'])).stdout).toContain(`-N ${chain}`);
      // What another tool does: the container, then the network, by plain CLI commands.
      expect((await side.cli('rm', '-f', bottle.name)).exitCode).toBe(0);
      expect((await side.cli('network', 'rm', bottle.network ?? '')).exitCode).toBe(0);
      await bottle.remove();
      expect((await raw.run(['iptables', '-w', '-S'])).stdout).not.toContain(chain);
    });
  });
}
