/**
 * The agent spec's zod schema: what a user writes in `agent.yaml` (or `.json`, or a Markdown
 * file's front matter). The schema is the type; `parseAgentSpec` turns bad input into a
 * `ConfigError` with one `field: value problem` line per issue. Reading files is ./load.ts.
 */
import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { branchPrefixProblem } from '../daemons/gitgate/policy.ts';
import { servedRefProblem } from '../daemons/gitgate/refs.ts';
import { AGENT_USER, isAgentImage } from '../image/recipe.ts';
import { describeIssues, type FieldIssue, type IssueParams } from './issues.ts';
import {
  MAX_ALLOW_CIDRS,
  MAX_ALLOW_HOSTS,
  MAX_ENV_BYTES,
  MAX_ENV_VALUE_BYTES,
  MAX_ENV_VARS,
  MAX_IDENTITY_LENGTH,
  MAX_IMAGE_BYTES,
  MAX_PATH_BYTES,
  MAX_PROMPT_BYTES,
  MAX_SKILLS,
} from './limits.ts';
import {
  AGENT_NAME_RULE,
  agentNameProblem,
  ENV_NAME_RULE,
  guestPathProblem,
  isEnvName,
  isUserName,
  SKILL_NAME_RULE,
  skillNameProblem,
  USER_NAME_RULE,
} from './names.ts';

const MAX_ID = 2 ** 31 - 1;

type RefineContext = z.core.$RefinementCtx;

function fail(ctx: RefineContext, message: string, params?: IssueParams): void {
  ctx.addIssue({ code: 'custom', message, ...(params ? { params: { ...params } } : {}) });
}

const bytesOf = (text: string): number => Buffer.byteLength(text, 'utf8');

/** A list of at most `max` items; zod checks the length before it looks at any item. */
function capped<T extends z.ZodType>(item: T, max: number, what: string) {
  return z.array(item).max(max, `has more than ${max} ${what}`);
}

export const AgentNameSchema = z.string().superRefine((name, ctx) => {
  const problem = agentNameProblem(name);
  if (problem) fail(ctx, `is not a valid agent name: it ${problem} (${AGENT_NAME_RULE})`);
});

export const SkillNameSchema = z.string().superRefine((name, ctx) => {
  const problem = skillNameProblem(name);
  if (problem) fail(ctx, `is not a valid skill name: it ${problem} (${SKILL_NAME_RULE})`);
});

const PromptSchema = z.string().superRefine((prompt, ctx) => {
  const bytes = bytesOf(prompt);
  if (bytes > MAX_PROMPT_BYTES) {
    fail(ctx, `is ${bytes} bytes of UTF-8; a prompt holds at most ${MAX_PROMPT_BYTES} (256 KiB)`, { hideValue: true });
  }
});

const SkillsSchema = capped(SkillNameSchema, MAX_SKILLS, 'skills').superRefine((skills, ctx) => {
  const firstIndex = new Map<string, number>();
  skills.forEach((skill, index) => {
    const first = firstIndex.get(skill);
    if (first === undefined) firstIndex.set(skill, index);
    else ctx.addIssue({ code: 'custom', path: [index], message: `is listed twice (also skills[${first}])` });
  });
});

/**
 * A host path field, relative to the agent file when loaded from one. The one refinement every
 * host path shares; `emptyHint` says what to write instead of nothing.
 */
function hostPathSchema(emptyHint: string) {
  return z.string().superRefine((path, ctx) => {
    if (path.length === 0) fail(ctx, `is empty; ${emptyHint}`);
    else if (path.startsWith('~')) fail(ctx, `starts with '~', which is not expanded; use an absolute path or one relative to the agent file`);
    else if (path.includes('\u0000')) fail(ctx, 'has a NUL byte');
    else if (bytesOf(path) > MAX_PATH_BYTES) fail(ctx, `is ${bytesOf(path)} bytes long; a path has at most ${MAX_PATH_BYTES}`, { hideValue: true });
  });
}

/** An absolute guest path; `what` names it in the message (e.g. "home dir"). */
function guestPathSchema(what: string) {
  return z.string().superRefine((path, ctx) => {
    const problem = guestPathProblem(path);
    if (problem) fail(ctx, `is not a valid ${what}: it ${problem} (an absolute guest path)`);
  });
}

const ImageSchema = z.string().superRefine((image, ctx) => {
  if (image.length === 0) fail(ctx, 'is empty; name an image, e.g. "alpine"');
  else if (/\s/.test(image)) fail(ctx, 'has whitespace; an image reference has none');
  else if (bytesOf(image) > MAX_IMAGE_BYTES)
    fail(ctx, `is ${bytesOf(image)} bytes long; an image reference has at most ${MAX_IMAGE_BYTES}`, { hideValue: true });
});

function idSchema(what: 'uid' | 'gid') {
  return z.number().superRefine((id, ctx) => {
    if (!Number.isInteger(id) || id < 0 || id > MAX_ID) fail(ctx, `is not a valid ${what} (an integer 0-${MAX_ID})`);
  });
}

export const GuestUserSchema = z.strictObject({
  name: z.string().superRefine((name, ctx) => {
    if (!isUserName(name)) fail(ctx, `is not a valid user name (${USER_NAME_RULE})`);
  }),
  uid: idSchema('uid'),
  gid: idSchema('gid'),
  home: guestPathSchema('home dir'),
});

export const ROOT_USER = Object.freeze({ name: 'root', uid: 0, gid: 0, home: '/root' });

/** A CA certificate (PEM) the guest must trust, e.g. a TLS-intercepting egress proxy's. */
const CaSchema = z.strictObject({
  /** Host path of the PEM file; relative to the agent file when loaded from one. */
  file: hostPathSchema('name a PEM file holding the CA certificate'),
});

/** One line of text for a git identity: no newline, NUL, '<' or '>' (git would reject or mangle it). */
function identitySchema(what: string) {
  return z.string().superRefine((value, ctx) => {
    if (value.trim().length === 0) fail(ctx, `is empty; give the agent's git ${what} or omit it`);
    else if (value.length > MAX_IDENTITY_LENGTH)
      fail(ctx, `is ${value.length} chars long; a git ${what} has at most ${MAX_IDENTITY_LENGTH}`, { hideValue: true });
    else if (/[\n\r\0<>]/.test(value)) fail(ctx, `has a newline, NUL, '<' or '>', which a git ${what} cannot hold`);
    else if (what === 'email' && /\s/.test(value)) fail(ctx, 'has whitespace; an email address has none');
  });
}

/**
 * A host repository the bottle works on through the git gate: cloned into the guest workspace,
 * with pushes allowed only to branches under `branchPrefix` (default `bottle/<name>/`).
 */
export const GitSpecSchema = z.strictObject({
  /** Host path of the repository (work tree or bare); relative to the agent file when loaded from one. */
  repo: hostPathSchema('name a git repository on the host'),
  branchPrefix: z
    .string()
    .superRefine((prefix, ctx) => {
      const problem = branchPrefixProblem(prefix);
      if (problem) fail(ctx, `is not a valid branch prefix: it ${problem} (e.g. "bottle/reviewer/")`);
    })
    .optional(),
  /** The agent's git identity; defaults to its name and `<name>@claude-bottle.invalid`. */
  name: identitySchema('user name').optional(),
  email: identitySchema('email').optional(),
  /** Guest path of the clone; default `<home>/workspace`. */
  workspace: guestPathSchema('workspace').optional(),
  /**
   * The refs the gate serves (fetchable, with every object they reach); `refs/...` names or
   * prefixes ending `/*`. Default: all branches and tags. The branch prefix is always served.
   */
  serveRefs: z
    .array(
      z.string().superRefine((ref, ctx) => {
        const problem = servedRefProblem(ref);
        if (problem) fail(ctx, `is not a ref or ref prefix the gate can serve: it ${problem} (e.g. "refs/heads/*", "refs/tags/v1")`);
      }),
    )
    .min(1)
    .max(100)
    .optional(),
});

/** A DNS name (optionally `*.`-prefixed) an egress allow-list may name. */
const AllowHostSchema = z.string().superRefine((host, ctx) => {
  if (!/^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(host) || host.length > 253) {
    fail(ctx, 'is not a host name (letters, digits, "-" and ".", optionally starting "*.")');
  }
});

/** An IPv4 or IPv6 network in CIDR notation. */
const AllowCidrSchema = z.string().superRefine((cidr, ctx) => {
  const [address = '', bits, extra] = cidr.split('/');
  const v4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/.test(address);
  const v6 = !v4 && address.length <= 45 && /^[0-9A-Fa-f:]+$/.test(address) && address.includes(':');
  const max = v4 ? 32 : 128;
  if (extra !== undefined || bits === undefined || !/^\d{1,3}$/.test(bits) || Number(bits) > max || !(v4 || v6)) {
    fail(ctx, 'is not a CIDR network (e.g. "10.0.0.0/8" or "fd00::/8")');
  }
});

/**
 * Where the guest may connect out to. smolvm enforces the lists itself (`--allow-host`,
 * `--allow-cidr`); on Docker the bottle joins a network that reaches only the host, where the
 * pipelock proxy applies them. `proxy: false` skips pipelock (smolvm's own filter remains).
 */
export const EgressSpecSchema = z.strictObject({
  allowHosts: capped(AllowHostSchema, MAX_ALLOW_HOSTS, 'hosts').default(() => []),
  allowCidrs: capped(AllowCidrSchema, MAX_ALLOW_CIDRS, 'networks').default(() => []),
  proxy: z.boolean().default(true),
  /**
   * TLS interception by the proxy: its CA certificate (installed in the guest as with `ca`) and
   * private key (ECDSA; it stays on the host). Host paths, relative to the agent file.
   */
  tls: z.strictObject({ cert: hostPathSchema('name the CA certificate PEM'), key: hostPathSchema("name the CA's private key PEM") }).optional(),
});

/** A supervising MCP server on the host that the bottled claude reports to (`--mcp-config`). */
export const SuperviseSpecSchema = z.strictObject({
  /** The server's name in claude's MCP config. */
  name: z
    .string()
    .superRefine((name, ctx) => {
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) fail(ctx, 'is not a valid MCP server name (1-64 letters, digits, "_" or "-")');
    })
    .default('supervisor'),
});

/**
 * Checked on the raw input so every bad name and value is reported at once (zod stops at the
 * first kind) and an own `__proto__` key is not silently dropped. Messages never carry
 * values: they may be secrets. Counts and sizes are bounded: every exec carries the whole env.
 */
const EnvSchema = z.preprocess(
  (env, ctx) => {
    if (typeof env !== 'object' || env === null || Array.isArray(env)) return env;
    const entries = Object.entries(env);
    if (entries.length > MAX_ENV_VARS) {
      ctx.addIssue({ code: 'custom', message: `has ${entries.length} variables; at most ${MAX_ENV_VARS}`, input: env });
      return {};
    }
    let total = 0;
    for (const [name, value] of entries) {
      if (name === '__proto__' || !isEnvName(name)) {
        ctx.addIssue({ code: 'custom', path: [name], message: `is not a valid environment variable name (${ENV_NAME_RULE})`, input: env });
      } else if (typeof value !== 'string') {
        ctx.addIssue({ code: 'invalid_type', expected: 'string', path: [name], input: value });
      } else if (value.includes('\u0000')) {
        ctx.addIssue({ code: 'custom', path: [name], message: 'has a NUL byte, which an environment cannot carry', input: env });
      } else if (bytesOf(value) > MAX_ENV_VALUE_BYTES) {
        ctx.addIssue({ code: 'custom', path: [name], message: `is ${bytesOf(value)} bytes; an env value has at most ${MAX_ENV_VALUE_BYTES}`, input: env });
      } else {
        total += bytesOf(name) + bytesOf(value) + 2;
      }
    }
    if (total > MAX_ENV_BYTES) ctx.addIssue({ code: 'custom', message: `holds ${total} bytes of names and values; at most ${MAX_ENV_BYTES}`, input: env });
    return env;
  },
  z.record(z.string(), z.string()),
);

export const AgentSpecSchema = z.strictObject({
  /** The agent's slug: names its state dir and prefixes its machines. */
  name: AgentNameSchema,
  /** The system prompt, written to the guest even when empty. */
  prompt: PromptSchema.default(''),
  skills: SkillsSchema.default(() => []),
  /** Host dir holding the skills; relative to the agent file when loaded from one. */
  skillsDir: hostPathSchema('omit skillsDir to use the default').optional(),
  image: ImageSchema.default('alpine'),
  user: GuestUserSchema.default(() => ({ ...ROOT_USER })),
  env: EnvSchema.default(() => ({})),
  /** Trusted inside the guest: the system store, Node, curl, git and Python. */
  ca: CaSchema.optional(),
  /** A host repository served to the guest through the git gate. */
  git: GitSpecSchema.optional(),
  /** Outbound network: none at all unless this is given. */
  egress: EgressSpecSchema.optional(),
  /** A supervising MCP server beside the bottle. */
  supervise: SuperviseSpecSchema.optional(),
});

export type AgentSpec = z.output<typeof AgentSpecSchema>;
/** What callers may pass: defaults not yet applied. `AgentSpec` is assignable to it. */
export type AgentSpecInput = z.input<typeof AgentSpecSchema>;

export const AGENT_FIELDS = Object.keys(AgentSpecSchema.shape);
const NESTED_FIELDS: Readonly<Record<string, readonly string[]>> = {
  '': AGENT_FIELDS,
  user: Object.keys(GuestUserSchema.shape),
  ca: Object.keys(CaSchema.shape),
  git: Object.keys(GitSpecSchema.shape),
  egress: Object.keys(EgressSpecSchema.shape),
  supervise: Object.keys(SuperviseSpecSchema.shape),
};

/** Validates and applies defaults. `source` (a file name) prefixes every message line. */
export function parseAgentSpec(input: unknown, source?: string): AgentSpec {
  const result = AgentSpecSchema.safeParse(input);
  if (result.success) return withImageUser(result.data, input);
  const issues = describeIssues(result.error.issues, input, {
    secretFields: new Set(['env']),
    knownKeys: (path) => NESTED_FIELDS[path],
  });
  throw specError(issues, source);
}

/** The agent image (`claude-bottle/agent`) runs as its `node` user unless the spec names a user. */
function withImageUser(spec: AgentSpec, input: unknown): AgentSpec {
  const named = typeof input === 'object' && input !== null && Object.hasOwn(input, 'user') && (input as { user?: unknown }).user !== undefined;
  return named || !isAgentImage(spec.image) ? spec : { ...spec, user: { ...AGENT_USER } };
}

function specError(issues: readonly FieldIssue[], source: string | undefined): ConfigError {
  const prefix = source ? `${source}: ` : '';
  const lines = issues.map((issue) => `${prefix}${issue.path ? `${issue.path}: ` : ''}${issue.message}`);
  return new ConfigError(lines.join('\n'), issues);
}
