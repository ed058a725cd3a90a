/**
 * The agent spec: what a user writes in `agent.yaml` (or `.json`, or a Markdown file with
 * front matter). The zod schema is the type; `parseAgentSpec` and `loadAgentFile` turn bad
 * input into a `ConfigError` with one `file: field: value problem` line per issue.
 */
import { dirname, extname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { branchPrefixProblem } from '../daemons/gitgate/policy.ts';
import { AGENT_USER, isAgentImage } from '../image/recipe.ts';
import { type AgentFileFs, errnoCode, nodeHostFs } from '../host/fs.ts';
import { describeIssues, type FieldIssue, type IssueParams } from './issues.ts';
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

export const MAX_PROMPT_BYTES = 256 * 1024;
/** Generous for a 256 KiB prompt plus fields; stops a stray huge file before YAML parses it. */
export const MAX_AGENT_FILE_BYTES = 1024 * 1024;
const MAX_ID = 2 ** 31 - 1;

type RefineContext = z.core.$RefinementCtx;

function fail(ctx: RefineContext, message: string, params?: IssueParams): void {
  ctx.addIssue({ code: 'custom', message, ...(params ? { params: { ...params } } : {}) });
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
  const bytes = Buffer.byteLength(prompt, 'utf8');
  if (bytes > MAX_PROMPT_BYTES) {
    fail(ctx, `is ${bytes} bytes of UTF-8; a prompt holds at most ${MAX_PROMPT_BYTES} (256 KiB)`, { hideValue: true });
  }
});

const SkillsSchema = z.array(SkillNameSchema).superRefine((skills, ctx) => {
  const firstIndex = new Map<string, number>();
  skills.forEach((skill, index) => {
    const first = firstIndex.get(skill);
    if (first === undefined) firstIndex.set(skill, index);
    else ctx.addIssue({ code: 'custom', path: [index], message: `is listed twice (also skills[${first}])` });
  });
});

const SkillsDirSchema = z.string().superRefine((dir, ctx) => {
  if (dir.length === 0) fail(ctx, 'is empty (omit skillsDir to use the default)');
  else if (dir.startsWith('~')) fail(ctx, `starts with '~', which is not expanded; use an absolute path or one relative to the agent file`);
  else if (dir.includes('\u0000')) fail(ctx, 'has a NUL byte');
});

const ImageSchema = z.string().superRefine((image, ctx) => {
  if (image.length === 0) fail(ctx, 'is empty; name an image, e.g. "alpine"');
  else if (/\s/.test(image)) fail(ctx, 'has whitespace; an image reference has none');
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
  home: z.string().superRefine((home, ctx) => {
    const problem = guestPathProblem(home);
    if (problem) fail(ctx, `is not a valid home dir: it ${problem} (an absolute guest path)`);
  }),
});

export const ROOT_USER = Object.freeze({ name: 'root', uid: 0, gid: 0, home: '/root' });

/** A CA certificate (PEM) the guest must trust, e.g. a TLS-intercepting egress proxy's. */
const CaSchema = z.strictObject({
  /** Host path of the PEM file; relative to the agent file when loaded from one. */
  file: z.string().superRefine((file, ctx) => {
    if (file.length === 0) fail(ctx, 'is empty; name a PEM file holding the CA certificate');
    else if (file.startsWith('~')) fail(ctx, `starts with '~', which is not expanded; use an absolute path or one relative to the agent file`);
    else if (file.includes('\u0000')) fail(ctx, 'has a NUL byte');
  }),
});

/** A host path field: relative to the agent file when loaded from one. */
function hostPathSchema(what: string) {
  return z.string().superRefine((file, ctx) => {
    if (file.length === 0) fail(ctx, `is empty; name ${what}`);
    else if (file.startsWith('~')) fail(ctx, `starts with '~', which is not expanded; use an absolute path or one relative to the agent file`);
    else if (file.includes('\u0000')) fail(ctx, 'has a NUL byte');
  });
}

/** One line of text for a git identity: no newline, NUL, '<' or '>' (git would reject or mangle it). */
function identitySchema(what: string) {
  return z.string().superRefine((value, ctx) => {
    if (value.trim().length === 0) fail(ctx, `is empty; give the agent's git ${what} or omit it`);
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
  repo: hostPathSchema('a git repository on the host'),
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
  workspace: z
    .string()
    .superRefine((path, ctx) => {
      const problem = guestPathProblem(path);
      if (problem) fail(ctx, `is not a valid workspace: it ${problem} (an absolute guest path)`);
    })
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
  const v6 = !v4 && /^[0-9A-Fa-f:]+$/.test(address) && address.includes(':');
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
  allowHosts: z.array(AllowHostSchema).default(() => []),
  allowCidrs: z.array(AllowCidrSchema).default(() => []),
  proxy: z.boolean().default(true),
  /**
   * TLS interception by the proxy: its CA certificate (installed in the guest as with `ca`) and
   * private key (ECDSA; it stays on the host). Host paths, relative to the agent file.
   */
  tls: z.strictObject({ cert: hostPathSchema('the CA certificate PEM'), key: hostPathSchema("the CA's private key PEM") }).optional(),
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
 * values: they may be secrets.
 */
const EnvSchema = z.preprocess((env, ctx) => {
  if (typeof env !== 'object' || env === null || Array.isArray(env)) return env;
  for (const [name, value] of Object.entries(env)) {
    if (name === '__proto__' || !isEnvName(name)) {
      ctx.addIssue({ code: 'custom', path: [name], message: `is not a valid environment variable name (${ENV_NAME_RULE})`, input: env });
    } else if (typeof value !== 'string') {
      ctx.addIssue({ code: 'invalid_type', expected: 'string', path: [name], input: value });
    } else if (value.includes('\u0000')) {
      ctx.addIssue({ code: 'custom', path: [name], message: 'has a NUL byte, which an environment cannot carry', input: env });
    }
  }
  return env;
}, z.record(z.string(), z.string()));

export const AgentSpecSchema = z.strictObject({
  /** The agent's slug: names its state dir and prefixes its machines. */
  name: AgentNameSchema,
  /** The system prompt, written to the guest even when empty. */
  prompt: PromptSchema.default(''),
  skills: SkillsSchema.default(() => []),
  /** Host dir holding the skills; relative to the agent file when loaded from one. */
  skillsDir: SkillsDirSchema.optional(),
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

const AGENT_FIELDS = Object.keys(AgentSpecSchema.shape);
const USER_FIELDS = Object.keys(GuestUserSchema.shape);
const CA_FIELDS = Object.keys(CaSchema.shape);
const GIT_FIELDS = Object.keys(GitSpecSchema.shape);
const EGRESS_FIELDS = Object.keys(EgressSpecSchema.shape);
const SUPERVISE_FIELDS = Object.keys(SuperviseSpecSchema.shape);
const NESTED_FIELDS: Readonly<Record<string, readonly string[]>> = {
  '': AGENT_FIELDS,
  user: USER_FIELDS,
  ca: CA_FIELDS,
  git: GIT_FIELDS,
  egress: EGRESS_FIELDS,
  supervise: SUPERVISE_FIELDS,
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

export interface LoadAgentFileOptions {
  /** Defaults to `node:fs/promises`. */
  readonly fs?: AgentFileFs | undefined;
}

/**
 * Reads `.yaml`/`.yml`, `.json`, or `.md` (YAML front matter; the body is the prompt); any
 * other extension is read as YAML, a superset of JSON. `skillsDir`, `ca.file` and `git.repo` come back absolute,
 * resolved against the file's directory.
 */
export async function loadAgentFile(path: string, options: LoadAgentFileOptions = {}): Promise<AgentSpec> {
  const text = await readAgentText(path, options.fs ?? nodeHostFs);
  const ext = extname(path).toLowerCase();
  const data = ext === '.json' ? parseJson(text, path) : ext === '.md' || ext === '.markdown' ? parseMarkdown(text, path) : parseYaml(text, path, 0);
  if (data === null || data === undefined) throw new ConfigError(`${path}: agent file has no fields (only comments or an empty document)`);
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError(`${path}: expected a mapping of agent fields (${AGENT_FIELDS.join(', ')}) at the top level, got ${Array.isArray(data) ? 'a list' : `a ${typeof data}`}`);
  }
  const spec = parseAgentSpec(data, path);
  const dir = dirname(resolve(path));
  return {
    ...spec,
    ...(spec.skillsDir !== undefined ? { skillsDir: resolve(dir, spec.skillsDir) } : {}),
    ...(spec.ca !== undefined ? { ca: { ...spec.ca, file: resolve(dir, spec.ca.file) } } : {}),
    ...(spec.git !== undefined ? { git: { ...spec.git, repo: resolve(dir, spec.git.repo) } } : {}),
    ...(spec.egress?.tls !== undefined
      ? { egress: { ...spec.egress, tls: { cert: resolve(dir, spec.egress.tls.cert), key: resolve(dir, spec.egress.tls.key) } } }
      : {}),
  };
}

async function readAgentText(path: string, fs: AgentFileFs): Promise<string> {
  let raw: Uint8Array | string;
  try {
    raw = await fs.readFile(path);
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT') throw new ConfigError(`${path}: agent file not found`);
    if (code === 'EISDIR') throw new ConfigError(`${path}: is a directory, not an agent file`);
    if (code === 'EACCES' || code === 'EPERM') throw new ConfigError(`${path}: cannot read agent file (permission denied)`);
    throw new ConfigError(`${path}: cannot read agent file (${code ?? (error instanceof Error ? error.message : String(error))})`);
  }
  const size = typeof raw === 'string' ? Buffer.byteLength(raw) : raw.byteLength;
  if (size > MAX_AGENT_FILE_BYTES) throw new ConfigError(`${path}: agent file is ${size} bytes; at most ${MAX_AGENT_FILE_BYTES} are read`);
  let text: string;
  try {
    text = typeof raw === 'string' ? raw : new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    throw new ConfigError(`${path}: agent file is not UTF-8 text`);
  }
  text = text.replace(/^\uFEFF/, '');
  if (text.trim() === '') throw new ConfigError(`${path}: agent file is empty`);
  return text;
}

/** `lineOffset`: lines before `text` in the file, so front matter errors point at the file's line. */
function parseYaml(text: string, path: string, lineOffset: number): unknown {
  const doc = parseDocument(text, { uniqueKeys: true });
  const error = doc.errors[0];
  if (error) {
    // Only the first line: the rest quotes the source, which may hold a secret.
    const reason =
      error.code === 'MULTIPLE_DOCS'
        ? "more than one YAML document ('---' separators); an agent file holds one"
        : (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
    const at = error.linePos?.[0];
    const where = at ? `:${at.line + lineOffset}:${at.col}` : '';
    throw new ConfigError(`${path}${where}: YAML syntax error: ${reason}`);
  }
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new ConfigError(`${path}: YAML error: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function parseJson(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    // V8 quotes the source around the error (it may hold a secret): keep only the reason.
    const reason = message.replace(/, ".*" is not valid JSON$/s, '').replace(/ in JSON at position \d+.*$/s, '');
    const v8At = /\(line (\d+) column (\d+)\)/.exec(message);
    // Some V8 messages carry no position; the YAML parser (JSON schema) can still locate the error.
    const yamlAt = v8At ? undefined : parseDocument(text, { schema: 'json' }).errors[0]?.linePos?.[0];
    const where = v8At ? `:${v8At[1]}:${v8At[2]}` : yamlAt ? `:${yamlAt.line}:${yamlAt.col}` : '';
    throw new ConfigError(`${path}${where}: JSON syntax error: ${reason}`);
  }
}

/** Claude Code agent style: `---` YAML front matter `---`, then the prompt as the body. */
function parseMarkdown(text: string, path: string): unknown {
  const lines = text.split(/\r?\n/);
  if (!/^---[ \t]*$/.test(lines[0] ?? '')) {
    throw new ConfigError(`${path}: a Markdown agent file starts with YAML front matter: a '---' line, the fields (name: …), a closing '---' line, then the prompt`);
  }
  const close = lines.findIndex((line, i) => i > 0 && /^---[ \t]*$/.test(line));
  if (close < 0) throw new ConfigError(`${path}:1: front matter is never closed (no second '---' line)`);
  const fields = parseYaml(lines.slice(1, close).join('\n'), path, 1) ?? {};
  if (typeof fields !== 'object' || Array.isArray(fields)) {
    throw new ConfigError(`${path}: front matter must be a mapping of agent fields (${AGENT_FIELDS.join(', ')}), got ${Array.isArray(fields) ? 'a list' : `a ${typeof fields}`}`);
  }
  const body = lines.slice(close + 1).join('\n').trim();
  if (Object.hasOwn(fields, 'prompt')) {
    if (body !== '') throw new ConfigError(`${path}: prompt: given both in the front matter and as the Markdown body; keep one`, [{ path: 'prompt', message: 'given twice' }]);
    return fields;
  }
  return { ...fields, prompt: body };
}
