/**
 * The inner plans: a CA, a supervise MCP server, egress through pipelock (the test double from
 * `fakePipelockBin()` unless the backend's `env` names another `PIPELOCK_BIN`) and the git gate,
 * each daemon probed from inside the guest and stopped by `remove()`. Every daemon listens on the
 * engine's host route only, so no traffic leaves the host.
 */
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from '../vitest.ts';
import type { Bottle } from '../../bottle/bottle.ts';
import { guestProbe } from '../../daemon/daemon.ts';
import { GUEST_CA_PATH, GUEST_MCP_CONFIG_FILE } from '../../plan/plan.ts';
import { CA_ENV, GUEST_CA_BUNDLE } from '../../provision/ca.ts';
import { launch, LaunchError, type LaunchStep } from '../../bottle/launch.ts';
import { ConfigError } from '../../errors.ts';
import { connectOutcome, faultyEngine, hostGit, hostRepo, selfSignedCa } from '../doubles.ts';
import { CONTRACT_USER, type ContractContext, PROMPT, PROMPT_FILE } from './context.ts';

export function planCases(ctx: ContractContext): void {
  const { test, launchAgent, launchPlan, planFor, sh, installClaude, run } = ctx;

  const MCP_CONFIG = `${CONTRACT_USER.home}/${GUEST_MCP_CONFIG_FILE}`;
  /** A self-signed CA certificate (openssl on the host): its path and PEM text. */
  const makeCa = async (): Promise<{ file: string; pem: string }> => {
    const dir = await mkdtemp(join(ctx.work(), 'ca-'));
    const { cert, pem } = await selfSignedCa(dir, `claude-bottle contract ${run}`);
    return { file: cert, pem };
  };
  /** The daemon's host address, and whether it is a loopback one (still checkable once the route is gone). */
  const hostOf = (url: string): { host: string; loopback: boolean } => {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    return { host, loopback: host === '::1' || host.startsWith('127.') || host === 'localhost' };
  };
  /** Checks each daemon is refused as `remove()` releases the route (its address still exists then). */
  const refusedAtRelease = (bottle: Bottle): Map<string, string> => {
    const outcomes = new Map<string, string>();
    ctx.observed().beforeRelease = async (route) => {
      if (route.machine !== bottle.name) return;
      for (const d of bottle.daemons?.daemons ?? []) outcomes.set(d.name, await connectOutcome(hostOf(d.url).host, d.port));
    };
    return outcomes;
  };

  /**
   * The launch's probe again, run as it is (the engine's exec, without the bottle's env): a
   * probe's busybox `wget` would otherwise go through the egress proxy, ignoring NO_PROXY.
   */
  const reprobe = (bottle: Bottle, daemon: { name: string; port: number }, guestHost: string) =>
    bottle.engine.exec(bottle.name, guestProbe(daemon, guestHost), { timeoutMs: 30_000 });

  test('ca: the certificate lands at the CA guest path (0644, root); every exec carries the CA variables, never in argv', async ({ calls }) => {
    const { file, pem } = await makeCa();
    const bottle = await launchAgent({ ca: { file } });
    expect(await sh(bottle, `stat -c '%F %a %u %g' "$1"`, GUEST_CA_PATH)).toBe('regular file 644 0 0\n');
    expect((await bottle.exec(['cat', GUEST_CA_PATH])).stdout).toBe(pem);
    // The system trust store holds it too (update-ca-certificates, or appended where there is none).
    const body = pem.split('\n').slice(1, -2).join('\n');
    expect((await bottle.exec(['cat', GUEST_CA_BUNDLE])).stdout).toContain(body);

    const names = [...CA_ENV.additive, ...CA_ENV.bundle];
    const before = calls?.().length ?? 0;
    const seen = await sh(bottle, names.map((name) => `printf '%s\\n' "$${name}"`).join('; '));
    const expected = names.map((name) => ((CA_ENV.additive as readonly string[]).includes(name) ? GUEST_CA_PATH : GUEST_CA_BUNDLE));
    expect(seen.split('\n').slice(0, -1)).toEqual(expected);
    // A per-exec env adds to the CA variables; it does not replace them.
    const merged = await bottle.exec(['sh', '-c', 'printf "%s|%s" "$NODE_EXTRA_CA_CERTS" "$CB_EXTRA"'], { env: { CB_EXTRA: 'x' } });
    expect(merged).toMatchObject({ exitCode: 0, stdout: `${GUEST_CA_PATH}|x` });
    if (calls) {
      const execs = calls().slice(before);
      expect(execs.length).toBeGreaterThan(0);
      expect(execs.filter((argv) => argv.some((arg) => arg.includes(GUEST_CA_PATH) || arg.includes(GUEST_CA_BUNDLE)))).toEqual([]);
      // The certificate itself travels as a file, never as an argument.
      expect(calls().filter((argv) => argv.some((arg) => arg.includes(body.split('\n')[0] as string)))).toEqual([]);
    }
  });

  test(
    'supervise: a host daemon, its MCP config (0600, the agent user) and claude flags; remove() stops it',
    async () => {
      const plan = await planFor({ prompt: PROMPT, supervise: {} });
      expect(plan.daemons).toEqual(['supervise']);
      const { bottle, steps, route } = await launchPlan(plan);
      expect(bottle.daemons?.csv).toBe('supervise');
      expect(steps).toContain('probe');
      const daemon = bottle.daemons?.daemons.find((d) => d.name === 'supervise');
      expect(daemon).toBeDefined();
      if (!daemon || !route) return expect.fail('the supervise daemon or its host route is missing');

      expect(await sh(bottle, `stat -c '%F %a %u %g' "$1"`, MCP_CONFIG)).toBe('regular file 600 1000 1000\n');
      const config = JSON.parse((await bottle.exec(['cat', MCP_CONFIG])).stdout) as { mcpServers: Record<string, { type: string; url: string }> };
      expect(Object.keys(config.mcpServers)).toEqual(['supervisor']);
      const server = config.mcpServers.supervisor;
      expect(server).toEqual({
        type: 'http',
        url: expect.stringMatching(/^http:\/\//),
        headers: { Authorization: expect.stringMatching(/^Bearer [A-Za-z0-9_-]{43}$/) },
      });
      const url = new URL(server?.url ?? '');
      expect([url.hostname.replace(/^\[|\]$/g, ''), url.port]).toEqual([route.route.guestHost, String(daemon.port)]);

      // The guest reaches the server, as the launch's probe showed.
      const probe = await reprobe(bottle, daemon, route.route.guestHost);
      expect(probe, probe.stderr).toMatchObject({ exitCode: 0, stdout: expect.stringMatching(/^reachable via \w+/) });

      await installClaude(bottle);
      expect(await bottle.execClaude(['-p', 'review HEAD'])).toMatchObject({
        exitCode: 0,
        stdout: `--append-system-prompt-file\n${PROMPT_FILE}\n--mcp-config\n${MCP_CONFIG}\n--strict-mcp-config\n-p\nreview HEAD\n`,
      });

      const { host, loopback } = hostOf(daemon.url);
      expect(await connectOutcome(host, daemon.port)).toBe('accepted');
      const atRelease = refusedAtRelease(bottle);
      await bottle.remove();
      await ctx.observed().settle(bottle.name);
      expect(route.releases).toBe(1);
      expect(Object.fromEntries(atRelease)).toEqual({ supervise: 'refused' });
      if (loopback) expect(await connectOutcome(host, daemon.port)).toBe('refused');
    },
    { kind: 'daemons', needs: ['hostRoute'] },
  );

  test(
    'egress: pipelock on the host, reached from the guest; every exec carries the proxy variables',
    async () => {
      const plan = await planFor({ egress: { allowHosts: ['example.com'] } });
      expect(plan.daemons).toEqual(['pipelock']);
      const { bottle, steps, route } = await launchPlan(plan);
      expect(bottle.daemons?.csv).toBe('pipelock');
      expect(steps).toContain('probe');
      const daemon = bottle.daemons?.daemons.find((d) => d.name === 'pipelock');
      if (!daemon || !route) return expect.fail('the pipelock daemon or its host route is missing');

      const names = ['HTTPS_PROXY', 'HTTP_PROXY', 'https_proxy', 'http_proxy', 'NO_PROXY', 'no_proxy', 'NODE_USE_ENV_PROXY'];
      const values = (await sh(bottle, names.map((name) => `printf '%s\\n' "$${name}"`).join('; '))).split('\n');
      const [proxy = '', ...rest] = values;
      expect(rest.slice(0, 3)).toEqual([proxy, proxy, proxy]);
      const proxyUrl = new URL(proxy);
      expect([proxyUrl.protocol, proxyUrl.hostname.replace(/^\[|\]$/g, ''), proxyUrl.port]).toEqual(['http:', route.route.guestHost, String(daemon.port)]);
      expect(values[4]).toBe(values[5]);
      expect(values[4]?.split(',')).toEqual(expect.arrayContaining(['localhost', '127.0.0.1', route.route.guestHost]));
      expect(values[6]).toBe('1');

      // The launch's probe reached the proxy; so does a second one.
      const probe = await reprobe(bottle, daemon, route.route.guestHost);
      expect(probe, probe.stderr).toMatchObject({ exitCode: 0, stdout: expect.stringMatching(/^reachable via \w+/) });

      const atRelease = refusedAtRelease(bottle);
      await bottle.remove();
      await ctx.observed().settle(bottle.name);
      expect(Object.fromEntries(atRelease)).toEqual({ pipelock: 'refused' });
    },
    { kind: 'daemons', needs: ['hostRoute'] },
  );

  test(
    'git: the workspace is a clone through the gate; a push inside the prefix lands, a push to main is refused',
    async ({ gitImage }, tc) => {
      if (gitImage === undefined) return tc.skip('the backend offers no gitImage (an image like image, with git)');
      const repo = await mkdtemp(join(ctx.work(), 'repo-'));
      const main = await hostRepo(repo, { 'README.md': `host ${run}\n` });

      const plan = await planFor({ image: gitImage, git: { repo } });
      expect(plan.daemons).toEqual(['git-gate']);
      const workspace = plan.git?.workspace ?? '';
      expect(workspace).toBe(`${CONTRACT_USER.home}/workspace`);
      const { bottle, steps } = await launchPlan(plan);
      expect(bottle.daemons?.csv).toBe('git-gate');
      expect(steps).toEqual(expect.arrayContaining(['probe', 'provision-git']));

      expect(await sh(bottle, 'git -C "$1" rev-parse HEAD', workspace)).toBe(`${main}\n`);
      expect(await sh(bottle, 'git -C "$1" rev-parse --abbrev-ref HEAD; stat -c "%u %g" "$1"', workspace)).toBe(`${plan.git?.branch}\n1000 1000\n`);

      const commit = await bottle.exec([
        'sh',
        '-c',
        'cd "$1" && echo from the bottle > bottle.txt && git add bottle.txt && git commit -q -m "bottle commit" && git push -q && git rev-parse HEAD',
        'sh',
        workspace,
      ]);
      expect(commit.exitCode, commit.stderr).toBe(0);
      const pushed = commit.stdout.trim();
      expect(await hostGit(repo, 'rev-parse', `refs/heads/${plan.git?.branch}`)).toBe(pushed);

      const refused = await bottle.exec(['git', '-C', workspace, 'push', 'origin', 'HEAD:main']);
      expect(refused.exitCode).not.toBe(0);
      expect(refused.stderr).toMatch(/-> main \(claude-bottle git gate: /);
      expect(await hostGit(repo, 'rev-parse', 'refs/heads/main')).toBe(main);
    },
    { kind: 'daemons', needs: ['hostRoute'] },
  );

  test('without a host route, a plan with daemons is refused before any engine call, naming no step that did not run', async ({ engine }, tc) => {
    if (engine.capabilities.hostRoute) return tc.skip('the engine offers a host route: the daemon cases above cover it');
    const faulty = faultyEngine(engine);
    const steps: LaunchStep[] = [];
    const error = await launch(await planFor({ supervise: {} }), { engine: faulty.engine, onStep: (step) => steps.push(step) }).catch((e: unknown) => e);
    // Refused before any step: a ConfigError, not a LaunchError naming a step that never ran.
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).not.toBeInstanceOf(LaunchError);
    expect((error as Error).message).toMatch(/^daemons: .*no host route/);
    expect(steps).toEqual([]);
    expect(faulty.calls).toEqual([]);
  });

  test('without an allow-list of its own, egress with the proxy off is refused before anything is written or created', async ({ engine }, tc) => {
    if (engine.capabilities.egressAllowList)
      return tc.skip('the engine enforces allow-lists itself: checking that needs the outside network, which the suite never uses');
    const faulty = faultyEngine(engine);
    const error = await launch(await planFor({ egress: { allowHosts: ['example.com'], proxy: false } }), { engine: faulty.engine }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/^egress\.proxy: /);
    expect(faulty.calls).toEqual([]);
  });
}
