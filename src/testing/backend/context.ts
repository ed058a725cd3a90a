/**
 * What every case of the backend contract shares: the backend under test, the agent the suite
 * launches (one slug per run, so its label finds every machine the suite made, leaked ones too),
 * and helpers to prepare, launch and inspect bottles. `createContext` registers the suite's
 * hooks, which remove every machine a case made, whatever the case did.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it, type TestContext } from 'vitest';
import { parseAgentSpec, type AgentSpecInput } from '../../agent/spec.ts';
import type { Bottle } from '../../bottle/bottle.ts';
import { launch, type LaunchStep } from '../../bottle/launch.ts';
import { PIPELOCK_BIN_ENV } from '../../daemons/pipelock/daemon.ts';
import { AGENT_LABEL, BOTTLE_LABEL, type Engine } from '../../engine/types.ts';
import type { Plan } from '../../plan/plan.ts';
import { prepare } from '../../plan/prepare.ts';
import { need, type ObservedRoute, observeHostRoutes } from '../doubles.ts';
import { fakePipelockBin } from '../pipelock.ts';

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

export const PROMPT = 'You review code.\nBe kind — and brief.\n';
export const PROMPT_FILE = `${CONTRACT_USER.home}/.claude-bottle-prompt.txt`;
export const SKILLS_DIR = `${CONTRACT_USER.home}/.claude/skills`;
/** Stands in for Claude Code: prints its arguments, one per line. */
export const CLAUDE_SCRIPT = '#!/bin/sh\nprintf \'%s\\n\' "$@"\n';
export const CLAUDE_PATH = '/usr/local/bin/claude';

/** Host skills: path → [content, mode]; directories are listed with a trailing `/`. */
export const SKILLS: Readonly<Record<string, readonly [string, number]>> = {
  'code-review/': ['', 0o755],
  'code-review/SKILL.md': ['---\nname: code-review\ndescription: Reviews a diff.\n---\nRead the diff twice.\n', 0o644],
  'code-review/scripts/': ['', 0o755],
  'code-review/scripts/check.sh': ['#!/bin/sh\necho check ok\n', 0o755],
  'code-review/reference/': ['', 0o750],
  'code-review/reference/notes.md': ['private notes\n', 0o600],
  'changelog/': ['', 0o755],
  'changelog/SKILL.md': ['---\nname: changelog\ndescription: Writes the changelog.\n---\n', 0o644],
};

export interface ContractContext {
  readonly run: string;
  readonly agent: string;
  /** Labels every machine the suite's launches make carries. */
  readonly agentLabels: Readonly<Record<string, string>>;
  readonly sut: () => BackendUnderTest;
  /** The engine wrapped to watch host routes; launches go through it. */
  readonly observed: () => ReturnType<typeof observeHostRoutes>;
  readonly work: () => string;
  /** Machine names to remove after the case. */
  readonly launched: Set<string>;
  /** Bottles to `remove()` after the case (which also stops their daemons and frees their route). */
  readonly bottles: Set<Bottle>;
  /** prepare + launch. Prepare rewrites the agent's host prompt file, so each launch prepares its own plan. */
  launchAgent(spec?: Partial<AgentSpecInput>, env?: Record<string, string>): Promise<Bottle>;
  /** Launch through the route-observing engine; the steps it took and the route it got come back too. */
  launchPlan(plan: Plan, options?: { name?: string }): Promise<{ bottle: Bottle; steps: LaunchStep[]; route: ObservedRoute | undefined }>;
  planFor(spec?: Partial<AgentSpecInput>, env?: Record<string, string>): Promise<Plan>;
  /** `sh -c script` in the bottle: exit 0 and no stderr expected; its stdout. */
  sh(bottle: Bottle, script: string, ...args: string[]): Promise<string>;
  installClaude(bottle: Bottle): Promise<void>;
  /** Machines under the suite agent's labels. */
  leftovers(): Promise<string[]>;
  /** A case, skipped with the suite's reason when the suite is skipped. */
  test(title: string, body: (sut: BackendUnderTest, ctx: TestContext) => Promise<void>): void;
  readonly engine: () => Engine;
}

export function createContext(makeBackend: () => Promise<BackendUnderTest> | BackendUnderTest, options: BackendContractOptions): ContractContext {
  const run = randomBytes(3).toString('hex');
  const agent = `bc-${run}`;
  const agentLabels = { [BOTTLE_LABEL]: '1', [AGENT_LABEL]: agent };
  let sut: BackendUnderTest | undefined;
  let observed: ReturnType<typeof observeHostRoutes> | undefined;
  let work = '';
  let claudeScript = '';
  const launched = new Set<string>();
  const bottles = new Set<Bottle>();

  const planFor = (spec: Partial<AgentSpecInput> = {}, env: Record<string, string> = {}): Promise<Plan> =>
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
  const launchPlan: ContractContext['launchPlan'] = async (plan, launchOptions = {}) => {
    const steps: LaunchStep[] = [];
    const bottle = await launch(plan, { engine: need(observed).engine, onStep: (step) => steps.push(step), ...launchOptions });
    launched.add(bottle.name);
    bottles.add(bottle);
    return { bottle, steps, route: need(observed).routes.get(bottle.name) };
  };
  const leftovers = async (): Promise<string[]> => (await need(sut).engine.list(agentLabels)).map((m) => m.name);

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

  // Every machine goes, whatever the case did: the ones launched, and any other under the agent's label.
  afterEach(async () => {
    if (!sut) return;
    const { engine } = sut;
    if (observed) observed.beforeRelease = undefined;
    await Promise.all([...bottles].map((bottle) => bottle.remove().catch(() => undefined)));
    bottles.clear();
    const names = new Set([...launched, ...(await leftovers().catch(() => []))]);
    launched.clear();
    await Promise.all([...names].map((machine) => engine.remove(machine).catch(() => undefined)));
    // A case that faults a rollback's own calls leaves the launch's network: it carries the agent's labels.
    const networks = (await engine.listNetworks?.(agentLabels).catch(() => [])) ?? [];
    await Promise.all(networks.map((n) => engine.removeNetwork?.(n.id).catch(() => undefined)));
  });

  afterAll(async () => {
    try {
      await sut?.cleanup?.();
    } finally {
      if (work) await rm(work, { recursive: true, force: true });
    }
  });

  return {
    run,
    agent,
    agentLabels,
    sut: () => need(sut),
    observed: () => need(observed),
    work: () => work,
    engine: () => need(sut).engine,
    launched,
    bottles,
    planFor,
    launchPlan,
    launchAgent: async (spec, env) => (await launchPlan(await planFor(spec, env))).bottle,
    sh: async (bottle, script, ...args) => {
      const result = await bottle.exec(['sh', '-c', script, 'sh', ...args]);
      expect(result, `sh -c ${script}`).toMatchObject({ exitCode: 0, stderr: '' });
      return result.stdout;
    },
    installClaude: (bottle) => need(sut).engine.upload(bottle.name, claudeScript, CLAUDE_PATH, { mode: 0o755, uid: 0, gid: 0 }),
    leftovers,
    test: (title, body) => {
      it(title, async (testCtx) => {
        if (options.skip !== undefined) testCtx.skip(options.skip);
        await body(need(sut), testCtx);
      });
    },
  };
}
