/**
 * The behaviour every backend must show at the bottle level: `prepare` + `launch` + `Bottle`
 * through the backend's Engine, against a real guest. The engine contract checks the adapter's
 * verbs one by one; this one checks what a user of the SDK sees. Guest commands stay within a
 * busybox `sh`, so the same suite runs on docker, smolvm and the fake; only the git gate case
 * needs `git` in the guest (`gitImage`), and is skipped without it.
 *
 * The inner plans are covered too: a CA, a supervise MCP server, egress through pipelock (the
 * test double from `fakePipelockBin()` unless `env` names another `PIPELOCK_BIN`) and the git
 * gate, each daemon probed from inside the guest, stopped by `remove()` and by a failed launch's
 * rollback. Every daemon listens on the engine's host route only, so no traffic leaves the host.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { parseAgentSpec, type AgentSpecInput } from '../agent/spec.ts';
import { type Bottle, BottleRemovedError } from '../bottle/bottle.ts';
import { launch, LaunchError, type LaunchStep } from '../bottle/launch.ts';
import { guestProbe } from '../daemon/daemon.ts';
import { BOTTLE_LABEL, type Engine, type HostRoute, type HostRouteOptions } from '../engine/types.ts';
import { EngineCommandError } from '../errors.ts';
import { PIPELOCK_BIN_ENV, PIPELOCK_CONFIG_FILE } from '../daemons/pipelock/daemon.ts';
import { GUEST_CA_PATH, GUEST_MCP_CONFIG_FILE, GUEST_SKILLS_DIR_ENV, type Plan } from '../plan/plan.ts';
import { prepare } from '../plan/prepare.ts';
import { CA_ENV, GUEST_CA_BUNDLE } from '../provision/ca.ts';
import type { CommandResult, Transport } from '../transport/types.ts';
import { fakePipelockBin } from './pipelock.ts';

export interface BackendUnderTest {
  readonly engine: Engine;
  /**
   * An image the engine has locally, running commands as root by default, with a busybox-like
   * `sh` (`stat -c`, `cat`, `tar`, `chown`, `mkdir -p`, `printf`, `id`) and the user
   * `node` (uid and gid 1000, home `/home/node`, owned by it).
   */
  readonly image: string;
  /** Every argv the engine sent so far (see `recordCalls`); without it the argv checks are skipped. */
  readonly calls?: () => readonly (readonly string[])[];
  /**
   * Make the engine's nth call from now (1 = the next; counted like `calls`) fail as the engine
   * itself failing, so the adapter throws an `EngineCommandError`. Without it the rollback check
   * is skipped. See `injectFaults` for a transport wrapper that does this.
   */
  readonly injectFault?: (nthCallFromNow: number) => void;
  /**
   * An image like `image` that also has `git` (for the git gate cases); without it they are
   * skipped, visibly.
   */
  readonly gitImage?: string;
  /**
   * Extra environment for `prepare`, e.g. `PIPELOCK_BIN` for a real pipelock; by default the
   * egress cases use the pipelock test double (`fakePipelockBin()`).
   */
  readonly env?: Readonly<Record<string, string>>;
  readonly cleanup?: () => Promise<void>;
}

export interface BackendContractOptions {
  /** Skip the whole suite, visibly, with this reason. */
  readonly skip?: string;
}

/** The guest user the suite's agents run as. */
export const CONTRACT_USER = Object.freeze({ name: 'node', uid: 1000, gid: 1000, home: '/home/node' });

/** What a faulted call answers instead of running. */
export type InjectedFault = Pick<CommandResult, 'exitCode' | 'stderr'> & { readonly stdout?: string };

/**
 * Wraps a transport so a test can fail its nth call from now: that call does not run and
 * answers `fault(argv)` instead, e.g. docker's `Error response from daemon: …` with exit 1.
 */
export function injectFaults(
  inner: Transport,
  fault: (argv: readonly string[]) => InjectedFault,
): { transport: Transport; injectFault: (nthCallFromNow: number) => void } {
  let started = 0;
  const armed = new Set<number>();
  return {
    transport: {
      run(argv, options) {
        const call = ++started;
        if (!armed.delete(call)) return inner.run(argv, options);
        const { exitCode, stderr, stdout = '' } = fault(argv);
        return Promise.resolve({
          argv: [...argv],
          exitCode,
          stdout,
          stderr,
          stdoutBytes: new TextEncoder().encode(stdout),
          durationMs: 0,
          timedOut: false,
        });
      },
    },
    injectFault(nthCallFromNow) {
      if (!Number.isInteger(nthCallFromNow) || nthCallFromNow < 1) throw new RangeError('injectFault: the call number is 1-based');
      armed.add(started + nthCallFromNow);
    },
  };
}

/** A route a launch got from the engine, and what became of its network. */
export interface ObservedRoute {
  readonly machine: string;
  readonly route: HostRoute;
  /** How many times its network was removed (always 0 for a route without a network). */
  releases: number;
}

/**
 * Wraps an engine to see the host routes launches get from it: every route is kept under its
 * machine's name, and `beforeRelease` (when set) runs as a route's network is removed (after
 * the launch or `remove()` has stopped the daemons, while the route's address still exists).
 * A route without a network has nothing to remove: its address (a loopback) outlives the
 * bottle, so `settle(machine)`, called once the bottle is gone, runs `beforeRelease` for it.
 */
export function observeHostRoutes(engine: Engine): {
  engine: Engine;
  routes: Map<string, ObservedRoute>;
  beforeRelease: ((observed: ObservedRoute) => Promise<void>) | undefined;
  settle(machine: string): Promise<void>;
} {
  const routes = new Map<string, ObservedRoute>();
  const observer = {
    engine: engine,
    routes,
    beforeRelease: undefined as ((observed: ObservedRoute) => Promise<void>) | undefined,
    async settle(machine: string): Promise<void> {
      const observed = routes.get(machine);
      if (!observed || observed.route.network !== undefined || observed.releases > 0) return;
      observed.releases++;
      await observer.beforeRelease?.(observed);
    },
  };
  const hostRoute = engine.hostRoute?.bind(engine);
  const removeNetwork = engine.removeNetwork?.bind(engine);
  const networkStatus = engine.networkStatus?.bind(engine);
  const wrapped = async (machine: string, options: HostRouteOptions): Promise<HostRoute> => {
    const route = await need(hostRoute)(machine, options);
    routes.set(machine, { machine, route, releases: 0 });
    return route;
  };
  const wrappedRemoveNetwork = async (nameOrId: string): Promise<void> => {
    const info = await networkStatus?.(nameOrId);
    const observed = [...routes.values()].find((r) => r.route.network !== undefined && (r.route.network === nameOrId || r.route.network === info?.name));
    if (observed) {
      observed.releases++;
      await observer.beforeRelease?.(observed);
    }
    await need(removeNetwork)(nameOrId);
  };
  // Methods run bound to the engine itself: adapters keep private fields.
  observer.engine = new Proxy(engine, {
    get(target, prop) {
      if (prop === 'hostRoute') return hostRoute ? wrapped : undefined;
      if (prop === 'removeNetwork') return removeNetwork ? wrappedRemoveNetwork : undefined;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return observer;
}

/** What a TCP connection to `host:port` meets within 3 s: `refused` once a daemon has stopped. */
export function connectOutcome(host: string, port: number): Promise<'accepted' | 'refused' | 'timeout' | string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (outcome: string): void => {
      socket.destroy();
      resolve(outcome);
    };
    socket.setTimeout(3000, () => done('timeout'));
    socket.once('connect', () => done('accepted'));
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code === 'ECONNREFUSED' ? 'refused' : (error.code ?? error.message)));
  });
}

/** TCP servers this process listens on (the in-process daemons: supervise, git gate). */
function tcpServers(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === 'TCPServerWrap').length;
}

const PROBE_SCRIPT = guestProbe({ name: 'x', port: 1 }, 'x')[2] as string;

/** The daemons a launch probed, read back from the probe argvs it sent. */
function probedDaemons(argvs: readonly (readonly string[])[]): { name: string; port: number }[] {
  const found: { name: string; port: number }[] = [];
  for (const argv of argvs) {
    const at = argv.indexOf(PROBE_SCRIPT);
    if (at < 0 || argv[at + 1] !== 'probe') continue;
    found.push({ name: argv[at + 4] as string, port: Number(argv[at + 3]) });
  }
  return found;
}

/** The port pipelock was configured to listen on for this machine, if its config was written. */
async function pipelockPort(plan: Plan, machine: string): Promise<number | undefined> {
  if (!plan.proxy) return undefined;
  const yaml = await readFile(join(plan.proxy.configDir, machine, PIPELOCK_CONFIG_FILE), 'utf8').catch(() => '');
  const match = /listen:\s*"?\[?[^"\s]*?\]?:(\d+)"?/.exec(yaml);
  return match ? Number(match[1]) : undefined;
}

const execFileAsync = promisify(execFile);

/** git on the host, with a fixed identity and no user or system config. */
export async function hostGit(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('git', args, {
    cwd,
    env: {
      ...process.env,
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_AUTHOR_NAME: 'host',
      GIT_AUTHOR_EMAIL: 'host@example.invalid',
      GIT_COMMITTER_NAME: 'host',
      GIT_COMMITTER_EMAIL: 'host@example.invalid',
    },
  });
  return stdout.trim();
}

const PROMPT = 'You review code.\nBe kind — and brief.\n';
const PROMPT_FILE = `${CONTRACT_USER.home}/.claude-bottle-prompt.txt`;
const SKILLS_DIR = `${CONTRACT_USER.home}/.claude/skills`;
/** Stands in for Claude Code: prints its arguments, one per line. */
const CLAUDE_SCRIPT = '#!/bin/sh\nprintf \'%s\\n\' "$@"\n';
const CLAUDE_PATH = '/usr/local/bin/claude';

/** Host skills: path → [content, mode]; directories are listed with a trailing `/`. */
const SKILLS: Readonly<Record<string, readonly [string, number]>> = {
  'code-review/': ['', 0o755],
  'code-review/SKILL.md': ['---\nname: code-review\ndescription: Reviews a diff.\n---\nRead the diff twice.\n', 0o644],
  'code-review/scripts/': ['', 0o755],
  'code-review/scripts/check.sh': ['#!/bin/sh\necho check ok\n', 0o755],
  'code-review/reference/': ['', 0o750],
  'code-review/reference/notes.md': ['private notes\n', 0o600],
  'changelog/': ['', 0o755],
  'changelog/SKILL.md': ['---\nname: changelog\ndescription: Writes the changelog.\n---\n', 0o644],
};

export function describeBackendContract(
  name: string,
  makeBackend: () => Promise<BackendUnderTest> | BackendUnderTest,
  options: BackendContractOptions = {},
): void {
  describe(`backend contract: ${name}`, () => {
    const run = randomBytes(3).toString('hex');
    /** One agent slug per run: its label finds every machine the suite made, leaked ones too. */
    const agent = `bc-${run}`;
    const agentLabels = { [BOTTLE_LABEL]: '1', [`${BOTTLE_LABEL}.agent`]: agent };
    let sut: BackendUnderTest | undefined;
    let observed: ReturnType<typeof observeHostRoutes> | undefined;
    let work = '';
    let claudeScript = '';
    const launched = new Set<string>();
    /** Bottles go through `remove()`, which also stops their daemons and frees their route. */
    const bottles = new Set<Bottle>();

    /** prepare + launch. Prepare rewrites the agent's host prompt file, so each launch prepares its own plan. */
    const launchAgent = async (spec: Partial<AgentSpecInput> = {}, env: Record<string, string> = {}): Promise<Bottle> =>
      (await launchPlan(await planFor(spec, env))).bottle;
    /** Launch through the route-observing engine; the steps it took and the route it got come back too. */
    const launchPlan = async (plan: Plan): Promise<{ bottle: Bottle; steps: LaunchStep[]; route: ObservedRoute | undefined }> => {
      const steps: LaunchStep[] = [];
      const bottle = await launch(plan, { engine: need(observed).engine, onStep: (step) => steps.push(step) });
      launched.add(bottle.name);
      bottles.add(bottle);
      return { bottle, steps, route: need(observed).routes.get(bottle.name) };
    };
    const planFor = (spec: Partial<AgentSpecInput> = {}, env: Record<string, string> = {}) =>
      prepare(parseAgentSpec({ name: agent, image: need(sut).image, user: { ...CONTRACT_USER }, ...spec }), {
        env: {
          HOME: join(work, 'home'),
          CLAUDE_BOTTLE_STATE_DIR: join(work, 'state'),
          CLAUDE_BOTTLE_SKILLS_DIR: join(work, 'skills'),
          ...(spec.egress ? { [PIPELOCK_BIN_ENV]: fakePipelockBin() } : {}),
          ...need(sut).env,
          ...env,
        },
      });
    const sh = async (bottle: Bottle, script: string, ...args: string[]): Promise<string> => {
      const result = await bottle.exec(['sh', '-c', script, 'sh', ...args]);
      expect(result, `sh -c ${script}`).toMatchObject({ exitCode: 0, stderr: '' });
      return result.stdout;
    };
    const installClaude = (bottle: Bottle): Promise<void> =>
      need(sut).engine.upload(bottle.name, claudeScript, CLAUDE_PATH, { mode: 0o755, uid: 0, gid: 0 });
    const leftovers = async (): Promise<string[]> => (await need(sut).engine.list(agentLabels)).map((m) => m.name);

    const test = (title: string, body: (sut: BackendUnderTest, ctx: TestContext) => Promise<void>): void => {
      it(title, async (ctx) => {
        if (options.skip !== undefined) ctx.skip(options.skip);
        await body(need(sut), ctx);
      });
    };

    beforeAll(async () => {
      if (options.skip !== undefined) return;
      sut = await makeBackend();
      observed = observeHostRoutes(sut.engine);
      work = await mkdtemp(join(tmpdir(), 'claude-bottle-backend-'));
      for (const [path, [content, mode]] of Object.entries(SKILLS)) {
        const hostPath = join(work, 'skills', path);
        if (path.endsWith('/')) await mkdir(hostPath, { recursive: true });
        else {
          await mkdir(dirname(hostPath), { recursive: true });
          await writeFile(hostPath, content);
        }
        await chmod(hostPath, mode);
      }
      claudeScript = join(work, 'claude');
      await writeFile(claudeScript, CLAUDE_SCRIPT);
    });

    // Every machine goes, whatever the test did: the ones launched, and any other under the agent's label.
    afterEach(async () => {
      if (!sut) return;
      const { engine } = sut;
      if (observed) observed.beforeRelease = undefined;
      await Promise.all([...bottles].map((bottle) => bottle.remove().catch(() => undefined)));
      bottles.clear();
      const names = new Set([...launched, ...(await leftovers().catch(() => []))]);
      launched.clear();
      await Promise.all([...names].map((machine) => engine.remove(machine).catch(() => undefined)));
    });

    afterAll(async () => {
      try {
        await sut?.cleanup?.();
      } finally {
        if (work) await rm(work, { recursive: true, force: true });
      }
    });

    test('the prompt lands at ~/.claude-bottle-prompt.txt: exact content, mode 0600, owned by the agent user', async () => {
      const bottle = await launchAgent({ prompt: PROMPT });
      expect(bottle.promptPath).toBe(PROMPT_FILE);
      expect((await bottle.exec(['cat', PROMPT_FILE])).stdout).toBe(PROMPT);
      expect(await sh(bottle, `stat -c '%F %a %u %g %s' "$1"`, PROMPT_FILE)).toBe(
        `regular file 600 1000 1000 ${Buffer.byteLength(PROMPT)}\n`,
      );
    });

    test('an empty prompt still lands, but gives no promptPath', async () => {
      const bottle = await launchAgent({ prompt: '' });
      expect(bottle.promptPath).toBeUndefined();
      expect(await sh(bottle, `stat -c '%a %u %g %s' "$1"`, PROMPT_FILE)).toBe('600 1000 1000 0\n');
    });

    test('skills land under ~/.claude/skills/<name>/ with their modes, owned by the agent user', async () => {
      const bottle = await launchAgent({ skills: ['code-review', 'changelog'] });
      expect(bottle.skillsDir).toBe(SKILLS_DIR);
      const expected = Object.entries(SKILLS).map(([path, [, mode]]) => {
        const guestPath = `${SKILLS_DIR}/${path.replace(/\/$/, '')}`;
        return `${guestPath} ${path.endsWith('/') ? 'directory' : 'regular file'} ${mode.toString(8)} 1000 1000`;
      });
      const paths = expected.map((line) => line.split(' ')[0] as string);
      expect((await sh(bottle, `stat -c '%n %F %a %u %g' "$@"`, ...paths)).trim().split('\n')).toEqual(expected);
      // The dirs between home and the skills are the user's too, so Claude Code can add its own.
      expect(await sh(bottle, `stat -c '%u %g' "$1" "$2"`, `${CONTRACT_USER.home}/.claude`, SKILLS_DIR)).toBe('1000 1000\n'.repeat(2));
      expect(await sh(bottle, 'ls -a "$1"', SKILLS_DIR)).toBe('.\n..\nchangelog\ncode-review\n');
      for (const [path, [content]] of Object.entries(SKILLS).filter(([path]) => !path.endsWith('/'))) {
        expect((await bottle.exec(['cat', `${SKILLS_DIR}/${path}`])).stdout, path).toBe(content);
      }
      // The executable bit survives: the agent user can run the skill's script.
      expect(await bottle.exec([`${SKILLS_DIR}/code-review/scripts/check.sh`])).toMatchObject({ exitCode: 0, stdout: 'check ok\n' });
      expect(await sh(bottle, 'ls -a /tmp')).not.toMatch(/claude-bottle/);
    });

    test(`${GUEST_SKILLS_DIR_ENV} moves the skills`, async () => {
      const dir = `/opt/cb-${run}-skills`;
      const bottle = await launchAgent({ skills: ['changelog'] }, { [GUEST_SKILLS_DIR_ENV]: dir });
      expect(bottle.skillsDir).toBe(dir);
      expect(await sh(bottle, `stat -c '%a %u %g' "$1"; cat "$1"`, `${dir}/changelog/SKILL.md`)).toBe(
        `644 1000 1000\n${SKILLS['changelog/SKILL.md']?.[0]}`,
      );
      expect((await bottle.exec(['stat', SKILLS_DIR])).exitCode).not.toBe(0);
    });

    test('execClaude runs claude with --append-system-prompt-file exactly when there is a prompt', async () => {
      const withPrompt = await launchAgent({ prompt: PROMPT });
      await installClaude(withPrompt);
      expect(await withPrompt.execClaude(['-p', 'review HEAD'])).toMatchObject({
        exitCode: 0,
        stdout: `--append-system-prompt-file\n${PROMPT_FILE}\n-p\nreview HEAD\n`,
      });

      const without = await launchAgent({ prompt: '' });
      await installClaude(without);
      expect(await without.execClaude(['-p', 'review HEAD'])).toMatchObject({ exitCode: 0, stdout: '-p\nreview HEAD\n' });
    });

    test('exec gives the guest exit code, stdout and stderr; a non-zero exit does not throw', async () => {
      const bottle = await launchAgent();
      for (const code of [0, 3, 42]) {
        const result = await bottle.exec(['sh', '-c', `echo out ${code}; echo err ${code} >&2; exit ${code}`]);
        expect(result, `exit ${code}`).toMatchObject({ exitCode: code, stdout: `out ${code}\n`, stderr: `err ${code}\n` });
      }
    });

    test('exec stdout is byte-exact', async () => {
      const bottle = await launchAgent();
      const result = await bottle.exec(['printf', '\\000\\001\\377']);
      expect(result.exitCode).toBe(0);
      expect([...result.stdoutBytes]).toEqual([0, 1, 255]);
    });

    test('stop and remove are idempotent; a removed bottle refuses exec, and so does the engine', async ({ engine }) => {
      const bottle = await launchAgent();
      await bottle.stop();
      await bottle.stop();
      expect((await engine.status(bottle.name))?.state).toBe('stopped');
      await bottle.remove();
      await bottle.remove();
      await bottle.stop();
      expect(bottle.removed).toBe(true);
      expect(await engine.status(bottle.name)).toBeUndefined();
      expect(await leftovers()).not.toContain(bottle.name);

      await expect(bottle.exec(['true'])).rejects.toBeInstanceOf(BottleRemovedError);
      await expect(bottle.execClaude()).rejects.toThrow(`bottle "${bottle.name}" has been removed`);
      const error = await engine.exec(bottle.name, ['true']).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EngineCommandError);
      expect((error as EngineCommandError).kind).toBe('not-found');
    });

    test('concurrent launches give distinct, running, provisioned bottles', async ({ engine }) => {
      const plan = await planFor({ prompt: PROMPT, skills: ['changelog'] });
      const settled = await Promise.allSettled(Array.from({ length: 5 }, () => launch(plan, { engine })));
      for (const result of settled) if (result.status === 'fulfilled') launched.add(result.value.name);
      const bottles = settled.map((result) => (result.status === 'fulfilled' ? result.value : expect.fail(String(result.reason))));
      const names = bottles.map((bottle) => bottle.name);
      expect(new Set(names).size).toBe(5);
      expect((await leftovers()).sort()).toEqual([...names].sort());
      for (const bottle of bottles) {
        expect((await engine.status(bottle.name))?.state, bottle.name).toBe('running');
        expect((await bottle.exec(['cat', PROMPT_FILE])).stdout, bottle.name).toBe(PROMPT);
        expect(await sh(bottle, `stat -c '%a %u %g' "$1"`, `${SKILLS_DIR}/changelog/SKILL.md`)).toBe('644 1000 1000\n');
      }
    });

    test('a fault at any engine call of a launch leaves no machine and names the step', async ({ engine, calls, injectFault }, ctx) => {
      if (!injectFault) return ctx.skip('the backend offers no injectFault');
      if (!calls) return ctx.skip('the backend records no calls, so the calls of a launch cannot be counted');
      const plan = await planFor({ prompt: PROMPT, skills: ['code-review'] });

      // A clean launch maps each of its calls to the step that made it.
      const stepOfCall: LaunchStep[] = [];
      const first = calls().length;
      const steps: { step: LaunchStep; from: number }[] = [];
      const clean = await launch(plan, { engine, onStep: (step) => steps.push({ step, from: calls().length - first }) });
      launched.add(clean.name);
      const total = calls().length - first;
      for (let call = 0; call < total; call++) stepOfCall.push(steps.findLast((s) => s.from <= call)?.step ?? 'create');
      await clean.remove();
      // Provisioning may take one call (an engine with uploadTree) or several.
      expect(stepOfCall.slice(0, 2)).toEqual(['create', 'start']);
      expect(stepOfCall.length).toBeGreaterThan(2);
      for (const step of stepOfCall.slice(2)) expect(step).toMatch(/^provision-/);

      for (let n = 1; n <= total; n++) {
        injectFault(n);
        const error = await launch(plan, { engine }).then(
          (bottle) => {
            launched.add(bottle.name);
            return undefined;
          },
          (e: unknown) => e,
        );
        expect(error, `fault at call ${n}`).toBeInstanceOf(LaunchError);
        const failed = error as LaunchError;
        launched.add(failed.machine);
        expect(failed.step, `fault at call ${n}`).toBe(stepOfCall[n - 1]);
        expect(failed.cause, `fault at call ${n}`).toBeInstanceOf(EngineCommandError);
        expect(failed.rollbackError, `fault at call ${n}`).toBeUndefined();
        expect(await engine.status(failed.machine), `machine after a fault at call ${n}`).toBeUndefined();
        expect(await leftovers(), `machines after a fault at call ${n}`).toEqual([]);
      }
    });

    test('secrets in the agent env and a per-exec env reach the guest, never argv', async ({ calls }, ctx) => {
      if (!calls) return ctx.skip('the backend records no calls, so argv cannot be checked');
      const agentSecret = `agent-${run}-s3cr3t`;
      const execSecret = `exec ${run} "quoted" $dollar 'single'`;
      const bottle = await launchAgent({ env: { CB_AGENT_SECRET: agentSecret } });
      const result = await bottle.exec(['sh', '-c', 'printf %s "$CB_AGENT_SECRET"']);
      expect(result).toMatchObject({ exitCode: 0, stdout: agentSecret });
      const perExec = await bottle.exec(['sh', '-c', 'printf "%s|%s" "$CB_AGENT_SECRET" "$CB_EXEC_SECRET"'], { env: { CB_EXEC_SECRET: execSecret } });
      expect(perExec).toMatchObject({ exitCode: 0, stdout: `${agentSecret}|${execSecret}` });
      const leaks = calls().filter((argv) => argv.some((arg) => arg.includes(agentSecret) || arg.includes(execSecret)));
      expect(leaks).toEqual([]);
    });

    const MCP_CONFIG = `${CONTRACT_USER.home}/${GUEST_MCP_CONFIG_FILE}`;
    /** A self-signed CA certificate (openssl on the host): its path and PEM text. */
    const makeCa = async (): Promise<{ file: string; pem: string }> => {
      const dir = await mkdtemp(join(work, 'ca-'));
      const file = join(dir, 'ca.crt');
      await execFileAsync('openssl', [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', join(dir, 'ca.key'), '-out', file, '-days', '2', '-subj', `/CN=claude-bottle contract ${run}`,
      ]);
      return { file, pem: await readFile(file, 'utf8') };
    };
    /** The daemon's host address, and whether it is a loopback one (still checkable once the route is gone). */
    const hostOf = (url: string): { host: string; loopback: boolean } => {
      const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
      return { host, loopback: host === '::1' || host.startsWith('127.') || host === 'localhost' };
    };
    /** Checks each daemon is refused as `remove()` releases the route (its address still exists then). */
    const refusedAtRelease = (bottle: Bottle): Map<string, string> => {
      const outcomes = new Map<string, string>();
      need(observed).beforeRelease = async (route) => {
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

    test('supervise: a host daemon, its MCP config (0600, the agent user) and claude flags; remove() stops it', async () => {
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
      expect(server).toEqual({ type: 'http', url: expect.stringMatching(/^http:\/\//) });
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
      await need(observed).settle(bottle.name);
      expect(route.releases).toBe(1);
      expect(Object.fromEntries(atRelease)).toEqual({ supervise: 'refused' });
      if (loopback) expect(await connectOutcome(host, daemon.port)).toBe('refused');
    });

    test('egress: pipelock on the host, reached from the guest; every exec carries the proxy variables', async () => {
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
      await need(observed).settle(bottle.name);
      expect(Object.fromEntries(atRelease)).toEqual({ pipelock: 'refused' });
    });

    test('git: the workspace is a clone through the gate; a push inside the prefix lands, a push to main is refused', async ({ gitImage }, ctx) => {
      if (gitImage === undefined) return ctx.skip('the backend offers no gitImage (an image with git)');
      const repo = await mkdtemp(join(work, 'repo-'));
      await hostGit(repo, 'init', '-q', '-b', 'main');
      await writeFile(join(repo, 'README.md'), `host ${run}\n`);
      await hostGit(repo, 'add', 'README.md');
      await hostGit(repo, 'commit', '-q', '-m', 'host commit');
      const main = await hostGit(repo, 'rev-parse', 'refs/heads/main');

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
        'sh', '-c', 'cd "$1" && echo from the bottle > bottle.txt && git add bottle.txt && git commit -q -m "bottle commit" && git push -q && git rev-parse HEAD', 'sh', workspace,
      ]);
      expect(commit.exitCode, commit.stderr).toBe(0);
      const pushed = commit.stdout.trim();
      expect(await hostGit(repo, 'rev-parse', `refs/heads/${plan.git?.branch}`)).toBe(pushed);

      const refused = await bottle.exec(['git', '-C', workspace, 'push', 'origin', 'HEAD:main']);
      expect(refused.exitCode).not.toBe(0);
      expect(refused.stderr).toMatch(/-> main \(claude-bottle git gate: /);
      expect(await hostGit(repo, 'rev-parse', 'refs/heads/main')).toBe(main);
    });

    test('a fault at any engine call of a launch with daemons leaves no machine; the daemons are stopped and the route freed', async ({ engine, calls, injectFault }, ctx) => {
      if (!injectFault) return ctx.skip('the backend offers no injectFault');
      if (!calls) return ctx.skip('the backend records no calls, so the calls of a launch cannot be counted');
      const plan = await planFor({ prompt: PROMPT, supervise: {}, egress: { allowHosts: ['example.com'] } });
      expect(plan.daemons).toEqual(['pipelock', 'supervise']);
      const obs = need(observed);
      const servers = tcpServers();

      // A clean launch maps each of its calls to the step that made it.
      const first = calls().length;
      const marks: { step: LaunchStep; from: number }[] = [];
      let serversUp = -1;
      const clean = await launch(plan, {
        engine: obs.engine,
        onStep: (step) => {
          marks.push({ step, from: calls().length - first });
          if (step === 'create') serversUp = tcpServers();
        },
      });
      // supervise runs in this process (pipelock is a child process): one more TCP server while up.
      expect(serversUp).toBe(servers + 1);
      launched.add(clean.name);
      bottles.add(clean);
      const total = calls().length - first;
      const stepOfCall = Array.from({ length: total }, (_, call) => marks.findLast((m) => m.from <= call)?.step ?? 'route');
      expect(probedDaemons(calls().slice(first)).map((d) => d.name)).toEqual(['pipelock', 'supervise']);
      await clean.remove();
      expect(tcpServers()).toBe(servers);
      for (const step of ['create', 'start', 'probe'] as const) expect(stepOfCall).toContain(step);

      const afterBundle = new Set<LaunchStep>(['create', 'start', 'probe']);
      for (let n = 1; n <= total; n++) {
        const step = stepOfCall[n - 1] as LaunchStep;
        const from = calls().length;
        let atRelease: { servers: number; ports: Map<string, string> } | undefined;
        obs.beforeRelease = async ({ machine, route }) => {
          // The daemons this launch started, as far as they can be known: pipelock's config, the probes sent.
          const known = new Map<string, number>(probedDaemons(calls().slice(from)).map((d) => [d.name, d.port]));
          const port = await pipelockPort(plan, machine);
          if (port !== undefined) known.set('pipelock', port);
          const ports = new Map<string, string>();
          for (const [name, p] of known) ports.set(name, await connectOutcome(route.bindHost, p));
          atRelease = { servers: tcpServers(), ports };
        };
        injectFault(n);
        const error = await launch(plan, { engine: obs.engine }).then(
          (bottle) => {
            launched.add(bottle.name);
            bottles.add(bottle);
            return undefined;
          },
          (e: unknown) => e,
        );
        if (error instanceof LaunchError) await obs.settle(error.machine);
        obs.beforeRelease = undefined;
        expect(error, `fault at call ${n} (${step})`).toBeInstanceOf(LaunchError);
        const failed = error as LaunchError;
        launched.add(failed.machine);
        expect([failed.step, failed.rollbackError], `fault at call ${n}`).toEqual([step, undefined]);
        expect(failed.cause, `fault at call ${n}`).toBeInstanceOf(EngineCommandError);
        expect(await engine.status(failed.machine), `machine after a fault at call ${n}`).toBeUndefined();
        expect(await leftovers(), `machines after a fault at call ${n}`).toEqual([]);
        expect(tcpServers(), `in-process daemons after a fault at call ${n}`).toBe(servers);
        const route = obs.routes.get(failed.machine);
        if (step === 'route') continue;
        expect(route?.releases, `route releases after a fault at call ${n}`).toBe(1);
        expect(atRelease?.servers, `in-process daemons as the route is released, fault at call ${n}`).toBe(servers);
        const ports = Object.fromEntries(atRelease?.ports ?? []);
        expect(Object.values(ports).every((outcome) => outcome === 'refused'), `daemons after a fault at call ${n}: ${JSON.stringify(ports)}`).toBe(true);
        if (afterBundle.has(step) || step.startsWith('provision-')) expect(Object.keys(ports), `fault at call ${n}`).toContain('pipelock');
        if (step.startsWith('provision-')) expect(Object.keys(ports).sort(), `fault at call ${n}`).toEqual(['pipelock', 'supervise']);
      }
    });
  });
}

function need<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('backend contract: the backend factory did not run (see beforeAll)');
  return value;
}
