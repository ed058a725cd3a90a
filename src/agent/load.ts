/**
 * Reading an agent file: `.yaml`/`.yml`, `.json`, or `.md` (YAML front matter; the body is the
 * prompt). The file is read once, bounded, from one handle (`readBoundedFile`), and a YAML
 * document is measured with its aliases resolved before it is built, so neither a device, a
 * FIFO, a huge file nor an alias bomb can grow the process.
 */
import { dirname, extname, resolve } from 'node:path';
import { type Document, isAlias, isMap, isPair, isScalar, isSeq, parseDocument } from 'yaml';
import { ConfigError } from '../errors.ts';
import { type AgentFileFs, HostReadError, nodeHostFs, readBoundedFile } from '../host/fs.ts';
import { MAX_AGENT_DOCUMENT_BYTES, MAX_AGENT_DOCUMENT_DEPTH, MAX_AGENT_FILE_BYTES, MAX_YAML_ALIASES } from './limits.ts';
import { AGENT_FIELDS, type AgentSpec, parseAgentSpec } from './schema.ts';

export interface LoadAgentFileOptions {
  /** Defaults to `node:fs/promises`. */
  readonly fs?: AgentFileFs | undefined;
}

/**
 * Reads `.yaml`/`.yml`, `.json`, or `.md` (YAML front matter; the body is the prompt); any
 * other extension is read as YAML, a superset of JSON. `skillsDir`, `ca.file`, `git.repo` and
 * `egress.tls` come back absolute, resolved against the file's directory.
 */
export async function loadAgentFile(path: string, options: LoadAgentFileOptions = {}): Promise<AgentSpec> {
  const text = await readAgentText(path, options.fs ?? nodeHostFs);
  const ext = extname(path).toLowerCase();
  const data = ext === '.json' ? parseJson(text, path) : ext === '.md' || ext === '.markdown' ? parseMarkdown(text, path) : parseYaml(text, path, 0);
  if (data === null || data === undefined) throw new ConfigError(`${path}: agent file has no fields (only comments or an empty document)`);
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError(
      `${path}: expected a mapping of agent fields (${AGENT_FIELDS.join(', ')}) at the top level, got ${Array.isArray(data) ? 'a list' : `a ${typeof data}`}`,
    );
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

/** Following a symlink is fine (dotfile setups); a FIFO, a device or an oversized file is refused unread. */
async function readAgentText(path: string, fs: AgentFileFs): Promise<string> {
  let raw: Uint8Array;
  try {
    raw = (await readBoundedFile(fs, path, { maxBytes: MAX_AGENT_FILE_BYTES })).data;
  } catch (error) {
    if (!(error instanceof HostReadError)) throw error;
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') throw new ConfigError(`${path}: agent file not found`);
    throw new ConfigError(`${path}: agent file ${error.problem}`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
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
  const problem = expansionProblem(doc);
  if (problem) throw new ConfigError(`${path}: YAML error: ${problem}`);
  try {
    return doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (e) {
    throw new ConfigError(`${path}: YAML error: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * Why the document would be too big or too deep once its aliases are resolved, or undefined.
 * It adds up sizes on the parsed nodes, each anchored node measured once, so a few aliases of
 * a large anchor cost nothing to measure and are refused before `toJS` builds anything.
 */
export function expansionProblem(doc: Document, limit = MAX_AGENT_DOCUMENT_BYTES, maxDepth = MAX_AGENT_DOCUMENT_DEPTH): string | undefined {
  const anchors = new Map<string, unknown>();
  const sizes = new Map<unknown, number>();
  const open = new Set<unknown>();
  class Refused extends Error {}
  const measure = (node: unknown, depth: number): number => {
    if (depth > maxDepth) throw new Refused(`nested deeper than ${maxDepth} levels`);
    if (isAlias(node)) {
      const target = anchors.get(node.source);
      if (target === undefined) return 0; // unresolved: toJS reports it
      if (open.has(target)) throw new Refused(`the alias *${node.source} refers to a node that contains it`);
      return sizes.get(target) ?? 0;
    }
    let size = 1;
    const anchor = (node as { anchor?: string } | null)?.anchor;
    if (anchor) {
      anchors.set(anchor, node);
      open.add(node);
    }
    if (isScalar(node)) size += String(node.value ?? '').length;
    else if (isMap(node) || isSeq(node)) {
      for (const item of node.items) {
        size += isPair(item) ? measure(item.key, depth + 1) + measure(item.value, depth + 1) : measure(item, depth + 1);
        if (size > limit) break;
      }
    }
    if (anchor) open.delete(node);
    sizes.set(node, size);
    if (size > limit)
      throw new Refused(`the document is over ${limit} bytes once its aliases are resolved (at most ${limit}; is an alias repeating a large block?)`);
    return size;
  };
  try {
    measure(doc.contents, 0);
    return undefined;
  } catch (error) {
    if (error instanceof Refused) return error.message;
    throw error;
  }
}

function parseJson(text: string, path: string): unknown {
  let data: unknown;
  try {
    data = JSON.parse(text);
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
  if (depthOf(data, MAX_AGENT_DOCUMENT_DEPTH) > MAX_AGENT_DOCUMENT_DEPTH) {
    throw new ConfigError(`${path}: JSON error: nested deeper than ${MAX_AGENT_DOCUMENT_DEPTH} levels`);
  }
  return data;
}

/** Nesting depth of plain JSON data, counted without recursion and no further than `stop + 1`. */
function depthOf(data: unknown, stop: number): number {
  let deepest = 0;
  const pending: [unknown, number][] = [[data, 0]];
  while (pending.length > 0) {
    const [value, depth] = pending.pop() as [unknown, number];
    if (depth > deepest) deepest = depth;
    if (deepest > stop) return deepest;
    if (typeof value === 'object' && value !== null) for (const child of Object.values(value)) pending.push([child, depth + 1]);
  }
  return deepest;
}

/** Claude Code agent style: `---` YAML front matter `---`, then the prompt as the body. */
function parseMarkdown(text: string, path: string): unknown {
  const lines = text.split(/\r?\n/);
  if (!/^---[ \t]*$/.test(lines[0] ?? '')) {
    throw new ConfigError(
      `${path}: a Markdown agent file starts with YAML front matter: a '---' line, the fields (name: …), a closing '---' line, then the prompt`,
    );
  }
  const close = lines.findIndex((line, i) => i > 0 && /^---[ \t]*$/.test(line));
  if (close < 0) throw new ConfigError(`${path}:1: front matter is never closed (no second '---' line)`);
  const fields = parseYaml(lines.slice(1, close).join('\n'), path, 1) ?? {};
  if (typeof fields !== 'object' || Array.isArray(fields)) {
    throw new ConfigError(
      `${path}: front matter must be a mapping of agent fields (${AGENT_FIELDS.join(', ')}), got ${Array.isArray(fields) ? 'a list' : `a ${typeof fields}`}`,
    );
  }
  const body = lines
    .slice(close + 1)
    .join('\n')
    .trim();
  if (Object.hasOwn(fields, 'prompt')) {
    if (body !== '')
      throw new ConfigError(`${path}: prompt: given both in the front matter and as the Markdown body; keep one`, [{ path: 'prompt', message: 'given twice' }]);
    return fields;
  }
  return { ...fields, prompt: body };
}
