/**
 * `prepare(agent) → Plan`: resolves and checks everything on the host, then writes what a
 * launch uploads from the state dir (the prompt, the CA). Every configuration error, the
 * engine's included when one is given, is found before the first write: a refused agent leaves
 * no file and no directory behind. Host files are read bounded, from one handle each.
 */
import { createHash } from 'node:crypto';
import { isAbsolute, join, posix, resolve } from 'node:path';
import { ConfigError } from '../errors.ts';
import { errnoCode, type HostFs, HostReadError, type HostStats, nodeHostFs, readBoundedFile } from '../host/fs.ts';
import type { FieldIssue } from '../agent/issues.ts';
import { MAX_CA_FILE_BYTES, MAX_KEY_FILE_BYTES, MAX_PATH_BYTES, MAX_SKILL_BYTES, MAX_SKILL_ENTRIES } from '../agent/limits.ts';
import { type AgentSpec, type AgentSpecInput, parseAgentSpec } from '../agent/schema.ts';
import type { Engine } from '../engine/types.ts';
import { agentStateDir } from '../agent/state-dir.ts';
import { ensureDir, type Env, hostHome, PRIVATE_FILE_MODE, writeFileAtomic } from '../host/state.ts';
import { defaultBranchPrefix } from '../daemons/gitgate/policy.ts';
import { gitCommonDir, isValidBranchName } from '../daemons/gitgate/repo.ts';
import { PipelockMissingError, requirePipelock } from '../daemons/pipelock/daemon.ts';
import { checkPlanForEngine } from './engine-check.ts';
import {
  checkGuestDir,
  type EgressPlan,
  type GitGatePlan,
  GUEST_CA_PATH,
  GUEST_MCP_CONFIG_FILE,
  guestPromptPath,
  guestSkillsDir,
  HOST_CA_FILE,
  HOST_PROMPT_FILE,
  type Plan,
  PLAN_VERSION,
  PLANNED_MODE_MASK,
  PlanSchema,
  type PlannedSkill,
  plannedDaemons,
  type ProxyPlan,
  type SupervisePlan,
} from './plan.ts';

export const SKILLS_DIR_ENV = 'CLAUDE_BOTTLE_SKILLS_DIR';
export const SKILL_MANIFEST = 'SKILL.md';

export interface PrepareOptions {
  /** Defaults to `process.env`: state dir, skills dirs and `HOME` are read from it. */
  readonly env?: Env | undefined;
  /** Defaults to `node:fs/promises`. */
  readonly fs?: HostFs | undefined;
  /** Defaults to `$HOME` from `env`, then `os.homedir()`. */
  readonly homedir?: string | undefined;
  /** For `preparedAt`; defaults to the wall clock. */
  readonly now?: (() => Date) | undefined;
  /**
   * The engine the plan will launch on: what it cannot take (an image it would read as a flag,
   * an env value it cannot carry, …) is a ConfigError here, before anything is written.
   */
  readonly engine?: Engine | undefined;
}

/** Where skills were looked up, and why there: error messages name both. */
interface SkillsSource {
  readonly dir: string;
  readonly from: string;
}

export async function prepare(agent: AgentSpecInput, options: PrepareOptions = {}): Promise<Plan> {
  const env = options.env ?? process.env;
  const fs = options.fs ?? nodeHostFs;
  const homedir = options.homedir ?? hostHome(env);
  // Typed callers pass a parsed spec; JS callers may not. Parsing again is idempotent.
  const spec = parseAgentSpec(agent);

  const stateDir = agentStateDir(spec.name, env, homedir);
  // The prompt, the default skills dir, the workspace and the MCP config all live in it.
  checkGuestDir('user.home', spec.user.home, 'home dir');
  const skillsGuestDir = guestSkillsDir(spec.user.home, env);
  const skills = await resolveSkills(spec, skillsSource(spec, env, homedir), skillsGuestDir, fs);
  const prompt = new TextEncoder().encode(spec.prompt);
  const tls = spec.egress?.tls;
  if (tls && spec.ca) {
    const message = 'names a CA as ca.file does; give it once (the proxy CA is installed in the guest as ca.file would be)';
    throw new ConfigError(`egress.tls.cert: ${message}`, [{ path: 'egress.tls.cert', message }]);
  }
  if (tls && !spec.egress?.proxy) {
    const message = 'needs the proxy (egress.proxy: true): only pipelock intercepts TLS';
    throw new ConfigError(`egress.tls: ${message}`, [{ path: 'egress.tls', message }]);
  }
  const ca = spec.ca ? await readCa(spec.ca.file, fs, 'ca.file') : tls ? await readCa(tls.cert, fs, 'egress.tls.cert') : undefined;
  if (tls) await checkPrivateKey(tls.key, fs);
  const git = spec.git ? await resolveGit(spec, spec.git) : undefined;
  const egress: EgressPlan | undefined = spec.egress ? { allowHosts: spec.egress.allowHosts, allowCidrs: spec.egress.allowCidrs } : undefined;
  const proxy = spec.egress?.proxy
    ? resolveProxy(spec.egress, join(stateDir, 'proxy'), env, tls ? { certPath: join(stateDir, HOST_CA_FILE), keyPath: resolve(tls.key) } : undefined)
    : undefined;
  const supervise: SupervisePlan | undefined = spec.supervise
    ? { name: spec.supervise.name, configGuestPath: posix.join(spec.user.home, GUEST_MCP_CONFIG_FILE) }
    : undefined;
  const plan = PlanSchema.parse({
    version: PLAN_VERSION,
    agent: { name: spec.name, slug: spec.name, image: spec.image, user: spec.user, env: spec.env },
    stateDir,
    prompt: {
      hostPath: join(stateDir, HOST_PROMPT_FILE),
      guestPath: guestPromptPath(spec.user.home),
      bytes: prompt.byteLength,
      sha256: createHash('sha256').update(prompt).digest('hex'),
      empty: prompt.byteLength === 0,
    },
    skills: { guestDir: skillsGuestDir, items: skills },
    ...(ca ? { ca: { hostPath: join(stateDir, HOST_CA_FILE), guestPath: GUEST_CA_PATH, sha256: ca.sha256 } } : {}),
    ...(git ? { git } : {}),
    ...(egress ? { egress } : {}),
    ...(proxy ? { proxy } : {}),
    ...(supervise ? { supervise } : {}),
    daemons: plannedDaemons({ proxy, git, supervise }),
    preparedAt: (options.now ?? (() => new Date()))().toISOString(),
  } satisfies Plan);
  if (options.engine) checkPlanForEngine(plan, options.engine);

  // The first write: everything above has been checked.
  await ensureDir(stateDir, fs);
  if (plan.ca && ca) await writeFileAtomic(plan.ca.hostPath, ca.pem, { mode: PRIVATE_FILE_MODE, fs });
  // Always written, even empty, so a launch uploads the same file every time.
  await writeFileAtomic(plan.prompt.hostPath, prompt, { mode: PRIVATE_FILE_MODE, fs });
  return plan;
}

/** The egress proxy needs pipelock on this host and at least one host to allow. */
function resolveProxy(egress: NonNullable<AgentSpec['egress']>, configDir: string, env: Env, tls: ProxyPlan['tls']): ProxyPlan {
  if (egress.allowHosts.length === 0) {
    const message = 'is empty, but the egress proxy allows only listed hosts; list at least one, or set egress.proxy: false';
    throw new ConfigError(`egress.allowHosts: ${message}`, [{ path: 'egress.allowHosts', message }]);
  }
  let bin: string;
  try {
    bin = requirePipelock(env);
  } catch (error) {
    if (!(error instanceof PipelockMissingError)) throw error;
    throw new ConfigError(`egress.proxy: ${error.message}`, [{ path: 'egress.proxy', message: error.message }]);
  }
  return { bin, configDir, allowHosts: egress.allowHosts, allowCidrs: egress.allowCidrs, ...(tls ? { tls } : {}) };
}

/** The default branch a bottle's clone starts on, under its prefix. */
export const GIT_WORK_BRANCH = 'work';

/** `git.repo` must be a git repository (checked with git itself); the defaults are filled in. */
async function resolveGit(spec: AgentSpec, git: NonNullable<AgentSpec['git']>): Promise<GitGatePlan> {
  if (git.workspace !== undefined) checkGuestDir('git.workspace', git.workspace, 'workspace');
  const repo = resolve(git.repo);
  let gitDir: string;
  try {
    gitDir = await gitCommonDir(repo);
  } catch (error) {
    const message = `${JSON.stringify(repo)} is not a git repository (${error instanceof Error ? error.message : String(error)})`;
    throw new ConfigError(`git.repo: ${message}`, [{ path: 'git.repo', message }]);
  }
  const prefix = git.branchPrefix ?? defaultBranchPrefix(spec.name);
  const branch = `${prefix}${GIT_WORK_BRANCH}`;
  if (!(await isValidBranchName(branch))) {
    const message = `${JSON.stringify(prefix)} does not make a valid branch name (${JSON.stringify(branch)} fails git check-ref-format)`;
    throw new ConfigError(`git.branchPrefix: ${message}`, [{ path: 'git.branchPrefix', message }]);
  }
  const workspace = git.workspace ?? posix.join(spec.user.home, 'workspace');
  return {
    repo,
    gitDir,
    prefix,
    branch,
    name: git.name ?? spec.name,
    email: git.email ?? `${spec.name}@claude-bottle.invalid`,
    workspace,
    ...(git.serveRefs ? { serveRefs: git.serveRefs } : {}),
  };
}

/** A host file named by `field`, read bounded from one handle; any refusal is a ConfigError naming the field and path. */
async function readConfigFile(fs: HostFs, field: string, file: string, maxBytes: number, what: string): Promise<string> {
  const path = resolve(file);
  try {
    return Buffer.from((await readBoundedFile(fs, path, { maxBytes })).data).toString('utf8');
  } catch (error) {
    if (!(error instanceof HostReadError)) throw error;
    const missing = error.code === 'ENOENT' || error.code === 'ENOTDIR';
    const message = `${JSON.stringify(path)} ${missing ? `not found (${what})` : error.problem}`;
    throw new ConfigError(`${field}: ${message}`, [{ path: field, message }]);
  }
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+?-----END CERTIFICATE-----/g;

/** The certificate blocks of `ca.file`, normalized; anything else in the file (comments, keys) is refused or dropped. */
async function readCa(file: string, fs: HostFs, field: string): Promise<{ pem: string; sha256: string }> {
  const path = resolve(file);
  const bad = (message: string): ConfigError => new ConfigError(`${field}: ${message}`, [{ path: field, message }]);
  const text = await readConfigFile(fs, field, path, MAX_CA_FILE_BYTES, 'a PEM file holding the CA certificate');
  if (/PRIVATE KEY-----/.test(text)) throw bad(`${JSON.stringify(path)} holds a private key; give the CA certificate only`);
  const blocks = text.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) throw bad(`${JSON.stringify(path)} holds no PEM certificate (-----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----)`);
  const pem = `${blocks.map((b) => b.replace(/\r\n/g, '\n')).join('\n')}\n`;
  return { pem, sha256: createHash('sha256').update(pem).digest('hex') };
}

/** The proxy's CA key must be there and be a private key; pipelock itself checks its algorithm. */
async function checkPrivateKey(file: string, fs: HostFs): Promise<void> {
  const text = await readConfigFile(fs, 'egress.tls.key', file, MAX_KEY_FILE_BYTES, "the CA's private key PEM");
  if (!/-----BEGIN (EC |)PRIVATE KEY-----/.test(text)) {
    const message = `${JSON.stringify(resolve(file))} holds no PEM private key (-----BEGIN EC PRIVATE KEY----- or -----BEGIN PRIVATE KEY-----)`;
    throw new ConfigError(`egress.tls.key: ${message}`, [{ path: 'egress.tls.key', message }]);
  }
}

function skillsSource(spec: AgentSpec, env: Env, homedir: string): SkillsSource {
  if (spec.skillsDir !== undefined) return { dir: resolve(spec.skillsDir), from: 'skillsDir in the agent spec' };
  const fromEnv = env[SKILLS_DIR_ENV];
  if (fromEnv) {
    if (!isAbsolute(fromEnv)) {
      const message = `${JSON.stringify(fromEnv)} is not an absolute path`;
      throw new ConfigError(`${SKILLS_DIR_ENV}: ${message}`, [{ path: SKILLS_DIR_ENV, message }]);
    }
    return { dir: resolve(fromEnv), from: SKILLS_DIR_ENV };
  }
  return { dir: join(homedir, '.claude', 'skills'), from: 'the default ~/.claude/skills' };
}

/** What all skills together may hold; `resolveSkills` counts down as it walks. */
interface SkillBudget {
  entries: number;
  bytes: number;
}

/** Walks every skill; reports every problem of every skill at once, or none. */
async function resolveSkills(spec: AgentSpec, source: SkillsSource, guestDir: string, fs: HostFs): Promise<PlannedSkill[]> {
  const items: PlannedSkill[] = [];
  const issues: FieldIssue[] = [];
  const budget: SkillBudget = { entries: MAX_SKILL_ENTRIES, bytes: MAX_SKILL_BYTES };
  for (const [index, name] of spec.skills.entries()) {
    const result = await resolveSkill(name, source, posix.join(guestDir, name), fs, budget);
    if (Array.isArray(result)) issues.push(...result.map((message) => ({ path: `skills[${index}]`, message })));
    else items.push(result);
    if (budget.entries < 0 || budget.bytes < 0) {
      const message = `${budget.entries < 0 ? `hold more than ${MAX_SKILL_ENTRIES} files and directories` : `hold more than ${MAX_SKILL_BYTES} bytes`} in all (skills dir ${source.dir})`;
      issues.push({ path: 'skills', message });
      break;
    }
  }
  if (issues.length > 0) throw new ConfigError(issues.map((i) => `${i.path}: ${i.message}`).join('\n'), issues);
  return items;
}

/** The planned skill, or why it cannot be used. */
async function resolveSkill(name: string, source: SkillsSource, guestDir: string, fs: HostFs, budget: SkillBudget): Promise<PlannedSkill | string[]> {
  const hostDir = join(source.dir, name);
  const where = `(skills dir ${source.dir}, from ${source.from})`;
  let mode: number;
  try {
    // stat, not lstat: the skill dir itself may be a symlink (dotfiles setups); its contents may not.
    const stats = await fs.stat(hostDir);
    if (!stats.isDirectory()) return [`skill "${name}": ${hostDir} is not a directory ${where}`];
    mode = plannedMode(stats);
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') return [`skill "${name}" not found: no directory ${hostDir} ${where}`];
    return [`skill "${name}": cannot read ${hostDir} (${code ?? String(error)})`];
  }
  const tree = await walk(fs, hostDir, guestDir, budget);
  const problems = tree.problems.map((problem) => `skill "${name}": ${problem}`);
  if (!tree.files.some((file) => file.path === SKILL_MANIFEST) && budget.entries >= 0) {
    problems.unshift(`skill "${name}" has no ${SKILL_MANIFEST}: expected the file ${join(hostDir, SKILL_MANIFEST)} ${where}`);
  }
  return problems.length > 0 ? problems : { name, hostDir, mode, files: tree.files, dirs: tree.dirs };
}

/** Permission and sticky bits; setuid/setgid are dropped here and never reach a guest. */
function plannedMode(stats: HostStats): number {
  return Number(stats.mode) & PLANNED_MODE_MASK;
}

interface SkillTree {
  files: PlannedSkill['files'];
  dirs: PlannedSkill['dirs'];
  problems: string[];
}

/**
 * Regular files and dirs only; anything else is reported, never skipped. Each file's lstat
 * (bigint: no precision lost) gives the identity provisioning checks before reading it.
 */
async function walk(fs: HostFs, root: string, guestRoot: string, budget: SkillBudget): Promise<SkillTree> {
  const tree: SkillTree = { files: [], dirs: [], problems: [] };
  const visit = async (relative: string): Promise<void> => {
    const dir = relative ? join(root, ...relative.split('/')) : root;
    // No more names than the budget has room for: a huge dir is never listed whole.
    const names: string[] = [];
    try {
      for await (const entry of await fs.opendir(dir)) {
        if (names.length > budget.entries) break;
        names.push(String(entry.name));
      }
    } catch (error) {
      tree.problems.push(`cannot list ${dir} (${errnoCode(error) ?? String(error)})`);
      return;
    }
    names.sort();
    for (const name of names) {
      if (--budget.entries < 0) return;
      const path = relative ? `${relative}/${name}` : name;
      const hostPath = join(dir, name);
      if (Buffer.byteLength(posix.join(guestRoot, path)) > MAX_PATH_BYTES) {
        tree.problems.push(`${hostPath} would land at a guest path longer than ${MAX_PATH_BYTES} bytes`);
        continue;
      }
      let stats: HostStats;
      try {
        stats = await fs.lstat(hostPath, { bigint: true });
      } catch (error) {
        tree.problems.push(`cannot stat ${hostPath} (${errnoCode(error) ?? String(error)})`);
        continue;
      }
      const mode = plannedMode(stats);
      if (stats.isSymbolicLink()) {
        tree.problems.push(`${hostPath} is a symlink; a skill holds only regular files and directories (copy the target in)`);
      } else if (stats.isDirectory()) {
        tree.dirs.push({ path, mode });
        await visit(path);
        if (budget.entries < 0) return;
      } else if (stats.isFile()) {
        const size = Number(stats.size);
        budget.bytes -= size;
        if (budget.bytes < 0) return;
        tree.files.push({ path, mode, size, dev: String(stats.dev), ino: String(stats.ino) });
      } else {
        tree.problems.push(`${hostPath} is not a regular file or directory (socket, FIFO or device)`);
      }
    }
  };
  await visit('');
  // Code-unit order: stable across platforms, and a parent dir sorts before its children.
  const byPath = (a: { path: string }, b: { path: string }) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
  tree.files.sort(byPath);
  tree.dirs.sort(byPath);
  return tree;
}
