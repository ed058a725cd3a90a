/**
 * The Plan: everything a launch needs, resolved and checked on the host before any machine
 * exists. Plain JSON, so it can be printed (`redactPlan` first), stored and replayed.
 */
import { isAbsolute, posix } from 'node:path';
import { z } from 'zod';
import { AgentNameSchema, GuestUserSchema, SkillNameSchema } from '../agent/spec.ts';
import { ConfigError } from '../errors.ts';
import { MAX_SKILL_BYTES, MAX_SKILL_ENTRIES, MAX_SKILLS } from '../agent/limits.ts';
import { guestPathProblem, isEnvName, protectedGuestDirProblem, relativePathProblem } from '../agent/names.ts';
import type { Env } from '../host/state.ts';

/** 2: skill files carry their host identity (dev, ino); modes may carry the sticky bit. */
export const PLAN_VERSION = 2;
export const GUEST_SKILLS_DIR_ENV = 'CLAUDE_BOTTLE_GUEST_SKILLS_DIR';
export const GUEST_PROMPT_FILE = '.claude-bottle-prompt.txt';
export const HOST_PROMPT_FILE = 'prompt.txt';
export const HOST_CA_FILE = 'ca.crt';
/** Where `update-ca-certificates` (Debian, Alpine) picks a local CA up. */
export const GUEST_CA_PATH = '/usr/local/share/ca-certificates/claude-bottle.crt';

const GuestPath = z.string().refine((p) => guestPathProblem(p) === undefined, 'must be an absolute guest path without ".." or ":"');
const HostPath = z.string().refine(isAbsolute, 'must be an absolute host path');
const RelativePath = z.string().refine((p) => relativePathProblem(p) === undefined, 'must be a relative "/"-separated path without "." or ".."');
/**
 * Permission bits and the sticky bit (0o1000), carried exactly. setuid/setgid (0o6000) never
 * travel into a guest: prepare drops them, and the schema refuses them.
 */
export const PLANNED_MODE_MASK = 0o1777;
const Mode = z.number().int().min(0).max(PLANNED_MODE_MASK);
const Size = z.number().int().min(0);
/** A `dev` or `ino` from a bigint stat, as a decimal string: JSON numbers would lose precision. */
const StatId = z.string().regex(/^\d{1,20}$/, 'must be a decimal integer');

/**
 * What the git gate and `provisionGit` need; the gate's URL is not here, since its port is only
 * known once it listens (at launch).
 */
export const GitGatePlanSchema = z.strictObject({
  /** The host repository, absolute. */
  repo: HostPath,
  /** Its common git dir (`git rev-parse --git-common-dir`), checked at prepare. */
  gitDir: HostPath,
  /** Pushes may update `refs/heads/<prefix>*` only. */
  prefix: z.string().min(1),
  /** The branch the guest clone starts on, `<prefix>work`: `git push -u origin HEAD` lands inside the prefix. */
  branch: z.string().min(1),
  /** The agent's git identity in the clone. */
  name: z.string().min(1),
  email: z.string().min(1),
  /** Guest path of the clone. */
  workspace: GuestPath,
  /** The refs the gate serves; absent: all branches and tags. */
  serveRefs: z.array(z.string().min(1)).max(100).optional(),
});

export type GitGatePlan = z.infer<typeof GitGatePlanSchema>;

/** Where the guest may connect out to; none of it exists without an `egress` section. */
export const EgressPlanSchema = z.strictObject({
  allowHosts: z.array(z.string().min(1)),
  allowCidrs: z.array(z.string().min(1)),
});

/**
 * The pipelock egress proxy. Its listen address is the engine's host route and a free port,
 * known only at launch; the config generated from this plan is written to `configDir` then.
 */
export const ProxyPlanSchema = z.strictObject({
  /** The pipelock binary, found at prepare (`PIPELOCK_BIN` or PATH). */
  bin: HostPath,
  configDir: HostPath,
  allowHosts: z.array(z.string().min(1)).min(1),
  allowCidrs: z.array(z.string().min(1)),
  /** TLS interception: the CA pipelock signs with (its certificate is `plan.ca`, installed in the guest). */
  tls: z.strictObject({ certPath: HostPath, keyPath: HostPath }).optional(),
});

/** The supervising MCP server and where claude's `--mcp-config` file lands in the guest. */
export const SupervisePlanSchema = z.strictObject({
  name: z.string().min(1),
  configGuestPath: GuestPath,
});

export const DAEMONS = ['pipelock', 'git-gate', 'supervise'] as const;
export type PlannedDaemon = (typeof DAEMONS)[number];

export const PlanSchema = z.strictObject({
  version: z.literal(PLAN_VERSION),
  agent: z.strictObject({
    name: AgentNameSchema,
    /** Names the state dir and prefixes machine names; today the same as `name`. */
    slug: AgentNameSchema,
    image: z.string().min(1),
    user: GuestUserSchema,
    /** Values may be secrets: print a plan only through `redactPlan`. */
    env: z.record(z.string().refine(isEnvName, 'must be an environment variable name'), z.string()),
  }),
  stateDir: HostPath,
  prompt: z.strictObject({
    hostPath: HostPath,
    guestPath: GuestPath,
    bytes: Size,
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    empty: z.boolean(),
  }),
  skills: z.strictObject({
    guestDir: GuestPath,
    items: z
      .array(
        z.strictObject({
          name: SkillNameSchema,
          hostDir: HostPath,
          /** Mode of the skill's own directory. */
          mode: Mode,
          /**
           * Every regular file, sorted by path, with what identifies it on the host (`dev`, `ino`
           * from prepare's lstat): provisioning reads only that same file, of that size.
           */
          files: z.array(z.strictObject({ path: RelativePath, mode: Mode, size: Size.max(MAX_SKILL_BYTES), dev: StatId, ino: StatId })).max(MAX_SKILL_ENTRIES),
          /** Every subdirectory, parents before children. */
          dirs: z.array(z.strictObject({ path: RelativePath, mode: Mode })).max(MAX_SKILL_ENTRIES),
        }),
      )
      .max(MAX_SKILLS),
  }),
  /** A CA certificate for the guest to trust: copied into the state dir, uploaded by `provisionCa`. */
  ca: z
    .strictObject({
      hostPath: HostPath,
      guestPath: GuestPath,
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
    })
    .optional(),
  /** A host repository served through the git gate, cloned into the guest by `provisionGit`. */
  git: GitGatePlanSchema.optional(),
  egress: EgressPlanSchema.optional(),
  proxy: ProxyPlanSchema.optional(),
  supervise: SupervisePlanSchema.optional(),
  /** The host daemons the plans call for, in start order; never empty when one of them is planned. */
  daemons: z.array(z.enum(DAEMONS)).default(() => []),
  preparedAt: z.iso.datetime(),
});

export type Plan = z.infer<typeof PlanSchema>;
export type PlannedSkill = Plan['skills']['items'][number];

export function guestPromptPath(home: string): string {
  return posix.join(home, GUEST_PROMPT_FILE);
}

/**
 * `<home>/.claude/skills`, unless `CLAUDE_BOTTLE_GUEST_SKILLS_DIR` names another absolute guest
 * path, which may not be `/` or lie in a system dir (`PROTECTED_GUEST_DIRS`); prepare checks
 * the home the same way.
 */
export function guestSkillsDir(home: string, env: Env = process.env): string {
  const override = env[GUEST_SKILLS_DIR_ENV];
  if (override === undefined || override === '') return posix.join(home, '.claude', 'skills');
  const problem = guestPathProblem(override);
  if (problem) {
    const message = `${JSON.stringify(override)} is not a valid guest skills dir: it ${problem} (an absolute guest path)`;
    throw new ConfigError(`${GUEST_SKILLS_DIR_ENV}: ${message}`, [{ path: GUEST_SKILLS_DIR_ENV, message }]);
  }
  checkGuestDir(GUEST_SKILLS_DIR_ENV, override, 'guest skills dir');
  return posix.normalize(override).replace(/(.)\/+$/, '$1');
}

/** Refuses a guest dir setting (`field`) that is `/` or a system dir: a ConfigError naming the field. */
export function checkGuestDir(field: string, path: string, what: string): void {
  const problem = protectedGuestDirProblem(path);
  if (!problem) return;
  const message = `${JSON.stringify(path)} is not a valid ${what}: it ${problem}`;
  throw new ConfigError(`${field}: ${message}`, [{ path: field, message }]);
}

/** The plan with env values replaced, safe to print or log. */
export function redactPlan(plan: Plan): Plan {
  const env = Object.fromEntries(Object.keys(plan.agent.env).map((name) => [name, '<redacted>']));
  return { ...plan, agent: { ...plan.agent, env } };
}

export type EgressPlan = z.infer<typeof EgressPlanSchema>;
export type ProxyPlan = z.infer<typeof ProxyPlanSchema>;
export type SupervisePlan = z.infer<typeof SupervisePlanSchema>;

/** The daemons the inner plans call for, in start order (the proxy first: the others may use it). */
export function plannedDaemons(plans: { proxy?: unknown; git?: unknown; supervise?: unknown }): PlannedDaemon[] {
  return DAEMONS.filter((d) => (d === 'pipelock' ? plans.proxy : d === 'git-gate' ? plans.git : plans.supervise) !== undefined);
}

export const GUEST_MCP_CONFIG_FILE = '.claude-bottle-mcp.json';
