/**
 * What every case of the backend contract shares: the backend under test, the agent the suite
 * launches (one slug per run, so its label finds every machine and network the suite made,
 * leaked ones too), and helpers to prepare, launch and inspect bottles. `createContext`
 * registers the suite's hooks: the requirements are checked once up front; every machine,
 * network and daemon a case made is removed after it, whatever the case did (a timeout too);
 * and the suite ends by checking that nothing labelled is left.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it, type TestContext } from '../vitest.ts';
import { parseAgentSpec, type AgentSpecInput } from '../../agent/spec.ts';
import type { Bottle } from '../../bottle/bottle.ts';
import { launch, type LaunchStep } from '../../bottle/launch.ts';
import { PIPELOCK_BIN_ENV } from '../../daemons/pipelock/daemon.ts';
import { AGENT_LABEL, BOTTLE_LABEL, type Engine, type ForkBase, type EngineCapabilities } from '../../engine/types.ts';
import type { Plan } from '../../plan/plan.ts';
import { prepare } from '../../plan/prepare.ts';
import { need, type ObservedRoute, observeHostRoutes } from '../doubles.ts';
import { fakePipelockBin } from '../pipelock.ts';
import { BASE_TOOLS, hostProblems, imageProblems, requirementsError } from '../requirements.ts';
import { CAPABILITY_REASONS, type ContractTimeouts, DEFAULT_TIMEOUTS } from '../options.ts';

export interface BackendUnderTest {
  readonly engine: Engine;
  /**
   * An image the engine has locally, running commands as root by default, with a busybox-like
   * `sh` (`stat -c`, `cat`, `printf`, `id`, `ls`, `mkdir`, `chmod`, `chown`), one of `nc`, `curl`,
   * `wget`, `bash` or `node` (to probe host daemons, when the engine offers a host route), and
   * the user `node` (uid and gid 1000, home `/home/node`, owned by it). Checked before any case.
   */
  readonly image: string;
  /** Every argv the engine sent so far (see `recordCalls`); without it the argv checks are skipped. */
  readonly calls?: () => readonly (readonly string[])[];
  /**
   * An image like `image` that also has `git` (for the git gate case); without it that case is
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
  readonly timeouts?: ContractTimeouts;
}

/** What a case needs: its time limit, and the capabilities without which it is skipped. */
export interface CaseOptions {
  readonly kind?: Exclude<keyof ContractTimeouts, 'hook'>;
  readonly needs?: readonly (keyof EngineCapabilities)[];
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
  /** A case with its time limit, skipped (with the reason) when the suite is or the engine lacks what it needs. */
  test(title: string, body: (sut: BackendUnderTest, ctx: TestContext) => Promise<void>, options?: CaseOptions): void;
  readonly timeouts: Required<ContractTimeouts>;
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
  const timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };

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
    await checkRequirements(sut);
  }, timeouts.hook);

  /** The image (from a machine of its own, under the agent's labels) and the host tools, once. */
  const checkRequirements = async ({ engine, image, gitImage }: BackendUnderTest): Promise<void> => {
    const probe = `${agent}-requirements`;
    launched.add(probe);
    await engine.create({ name: probe, image, labels: agentLabels, network: { enabled: false, allowHosts: [], allowCidrs: [] } });
    await engine.start(probe);
    const fromImage = await imageProblems(engine, probe, { tools: BASE_TOOLS, probeTool: engine.capabilities.hostRoute });
    await engine.remove(probe);
    const fromHost = await hostProblems({ openssl: 'to make the CA case a certificate', ...(gitImage !== undefined ? { git: 'for the git gate case' } : {}) });
    const error = requirementsError(`backend contract (${engine.kind})`, image, fromImage, fromHost);
    if (error) throw error;
  };

  /** Everything the suite's agent label finds: machines, networks, and processes under the work dir (pipelock). */
  const labelled = async (): Promise<{ machines: string[]; networks: { id: string; name: string }[]; forkBases: ForkBase[]; processes: string[] }> => {
    const engine = need(sut).engine;
    return {
      machines: await leftovers(),
      networks: ((await engine.listNetworks?.(agentLabels)) ?? []).map(({ id, name }) => ({ id, name })),
      forkBases: ((await engine.listForkBases?.(agentLabels)) ?? []).map((b) => b.base),
      processes: work ? await processesUnder(work) : [],
    };
  };

  // Every machine goes, whatever the case did: the ones launched, and any other under the agent's label.
  afterEach(async () => {
    if (!sut) return;
    const { engine } = sut;
    if (observed) observed.beforeRelease = undefined;
    // Forks first (a golden refuses to go while they live), then the rest.
    const all = [...bottles];
    await Promise.all(all.filter((b) => b.forkOf).map((bottle) => bottle.remove().catch(() => undefined)));
    await Promise.all(all.map((bottle) => bottle.remove({ cascade: true }).catch(() => undefined)));
    bottles.clear();
    const names = new Set([...launched, ...(await leftovers().catch(() => []))]);
    launched.clear();
    await Promise.all([...names].map((machine) => engine.remove(machine).catch(() => undefined)));
    // A launch whose rollback failed leaves its network: it carries the agent's labels.
    const networks = (await engine.listNetworks?.(agentLabels).catch(() => [])) ?? [];
    await Promise.all(networks.map((n) => engine.removeNetwork?.(n.id).catch(() => undefined)));
    // Fork bases (committed images) whose clones are gone.
    for (const base of (await engine.listForkBases?.(agentLabels).catch(() => [])) ?? []) await engine.removeForkBase?.(base.base).catch(() => undefined);
  }, timeouts.hook);

  // What a case still running past its time limit made after its afterEach: removed, and a failure.
  afterAll(async () => {
    try {
      if (!sut) return;
      const left = await labelled();
      const { engine } = sut;
      await Promise.all(left.machines.map((m) => engine.remove(m).catch(() => undefined)));
      await Promise.all(left.networks.map((n) => engine.removeNetwork?.(n.id).catch(() => undefined)));
      for (const base of left.forkBases) await engine.removeForkBase?.(base).catch(() => undefined);
      const found = [
        ...left.machines.map((m) => `machine ${m}`),
        ...left.networks.map((n) => `network ${n.name}`),
        ...left.forkBases.map((b) => `fork base ${b.kind} ${b.id}`),
        ...left.processes.map((p) => `process ${p}`),
      ];
      if (found.length) throw new Error(`backend contract: left behind under ${AGENT_LABEL}=${agent}: ${found.join('; ')}`);
    } finally {
      try {
        await sut?.cleanup?.();
      } finally {
        if (work) await rm(work, { recursive: true, force: true });
      }
    }
  }, timeouts.hook);

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
    timeouts,
    test: (title, body, caseOptions = {}) => {
      it(
        title,
        async (testCtx) => {
          if (options.skip !== undefined) return testCtx.skip(options.skip);
          const lacking = (caseOptions.needs ?? []).find((capability) => !need(sut).engine.capabilities[capability]);
          if (lacking) return testCtx.skip(CAPABILITY_REASONS[lacking]);
          await body(need(sut), testCtx);
        },
        timeouts[caseOptions.kind ?? 'case'],
      );
    },
  };
}

/** Processes whose command line names `path` (Linux /proc; none elsewhere): a daemon a case left running. */
async function processesUnder(path: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(path)) found.push(`${pid} ${cmdline.replaceAll('\0', ' ').trim()}`);
  }
  return found;
}
