/**
 * A small POSIX-ish `sh`: lists with `;`, `&&`, `||`, pipelines, `!`, redirects (`>`, `>>`, `<`,
 * `N>&M`), quoting, `$VAR`/`${VAR}`/`${VAR:-x}`, positional and special parameters, `~`, simple
 * globs, and the builtins scripts lean on (`cd`, `exit`, `export`, `set -e`, `command -v`, ...).
 * Compound commands and command substitution are refused with a syntax error, not half-run.
 */
import { posix } from 'node:path';
import { GUEST_ERRNO, nonexistentDirectory, sh as texts } from '../texts.ts';
import { Sink, StdinRef, toText, type GuestProcess, type GuestProgram } from './process.ts';

type Part =
  | { readonly kind: 'lit'; readonly text: string; readonly quoted: boolean }
  | { readonly kind: 'var'; readonly name: string; readonly quoted: boolean; readonly fallback?: { colon: boolean; text: string } };
type Word = Part[];
type Token =
  | { readonly kind: 'word'; readonly word: Word }
  | { readonly kind: 'op'; readonly op: ';' | '&&' | '||' | '|' | '&' }
  | { readonly kind: 'redir'; readonly fd: number; readonly op: '>' | '>>' | '<' | '>&' | '<&' };

interface Redirect {
  readonly fd: number;
  readonly op: '>' | '>>' | '<' | '>&' | '<&';
  readonly target: Word;
}
interface SimpleCommand {
  readonly assigns: Array<{ name: string; value: Word }>;
  readonly words: Word[];
  readonly redirects: Redirect[];
}
interface Pipeline {
  readonly negate: boolean;
  readonly commands: SimpleCommand[];
}
interface AndOr {
  readonly first: Pipeline;
  readonly rest: Array<{ op: '&&' | '||'; pipeline: Pipeline }>;
}

class SyntaxError_ extends Error {}
/** Unwinds the interpreter on `exit` or a fatal shell error. */
class ShellExit extends Error {
  readonly status: number;
  constructor(status: number) {
    super(`exit ${status}`);
    this.status = status;
  }
}

const COMPOUND = new Set(['if', 'then', 'else', 'elif', 'fi', 'for', 'while', 'until', 'do', 'done', 'case', 'esac', '{', '}', 'function']);

function lex(script: string): Token[] {
  const tokens: Token[] = [];
  let word: Part[] | null = null;
  const flush = (): void => {
    if (word) tokens.push({ kind: 'word', word });
    word = null;
  };
  const lit = (text: string, quoted: boolean): void => {
    word ??= [];
    const last = word.at(-1);
    // Adjacent literals merge, so `X=1` reads as one part when spotting assignments.
    if (last?.kind === 'lit' && last.quoted === quoted && !(quoted && text === '')) {
      word[word.length - 1] = { kind: 'lit', text: last.text + text, quoted };
    } else word.push({ kind: 'lit', text, quoted });
  };
  const dollar = (i: number, quoted: boolean): number => {
    const next = script[i + 1] ?? '';
    if (next === '(') throw new SyntaxError_('command substitution is not supported by the fake');
    if (next === '{') {
      const end = script.indexOf('}', i + 2);
      if (end === -1) throw new SyntaxError_('missing }');
      const body = script.slice(i + 2, end);
      const m = /^([A-Za-z_][A-Za-z0-9_]*|[0-9]+|[@*#?$!-])(?:(:?)-(.*))?$/s.exec(body);
      if (!m) throw new SyntaxError_(`bad substitution`);
      word ??= [];
      word.push({
        kind: 'var',
        name: m[1] as string,
        quoted,
        ...(m[3] !== undefined ? { fallback: { colon: m[2] === ':', text: m[3] } } : {}),
      });
      return end + 1;
    }
    const name = /^[A-Za-z_][A-Za-z0-9_]*|^[0-9@*#?$!-]/.exec(script.slice(i + 1))?.[0];
    if (!name) {
      lit('$', quoted);
      return i + 1;
    }
    word ??= [];
    word.push({ kind: 'var', name, quoted });
    return i + 1 + name.length;
  };

  let i = 0;
  while (i < script.length) {
    const c = script[i] as string;
    if (c === ' ' || c === '\t') {
      flush();
      i++;
    } else if (c === '\n' || c === ';') {
      flush();
      if (script[i + 1] === ';' && c === ';') throw new SyntaxError_('unexpected ";;"');
      tokens.push({ kind: 'op', op: ';' });
      i++;
    } else if (c === '#' && word === null) {
      while (i < script.length && script[i] !== '\n') i++;
    } else if (c === '&' || c === '|') {
      flush();
      const double = script[i + 1] === c;
      tokens.push({ kind: 'op', op: double ? (c === '&' ? '&&' : '||') : c });
      i += double ? 2 : 1;
      // A line may end after `&&`, `||` or `|`.
      if (double || c === '|') while (/[ \t\n]/.test(script[i] ?? '')) i++;
    } else if (c === '>' || c === '<') {
      let fd = c === '>' ? 1 : 0;
      const w = word as Part[] | null;
      const only = w?.length === 1 ? w[0] : undefined;
      if (only?.kind === 'lit' && !only.quoted && /^\d$/.test(only.text)) {
        fd = Number(only.text);
        word = null;
      } else flush();
      i++;
      let op: Redirect['op'] = c;
      if (c === '>' && script[i] === '>') {
        op = '>>';
        i++;
      } else if (script[i] === '&') {
        op = c === '>' ? '>&' : '<&';
        i++;
      } else if (c === '>' && script[i] === '|') i++;
      tokens.push({ kind: 'redir', fd, op });
    } else if (c === "'") {
      const end = script.indexOf("'", i + 1);
      if (end === -1) throw new SyntaxError_('unterminated quoted string');
      lit(script.slice(i + 1, end), true);
      i = end + 1;
    } else if (c === '"') {
      lit('', true);
      i++;
      for (;;) {
        if (i >= script.length) throw new SyntaxError_('unterminated quoted string');
        const d = script[i] as string;
        if (d === '"') {
          i++;
          break;
        }
        if (d === '\\' && '$`"\\\n'.includes(script[i + 1] ?? '')) {
          if (script[i + 1] !== '\n') lit(script[i + 1] as string, true);
          i += 2;
        } else if (d === '$') i = dollar(i, true);
        else if (d === '`') throw new SyntaxError_('command substitution is not supported by the fake');
        else {
          lit(d, true);
          i++;
        }
      }
    } else if (c === '\\') {
      if (script[i + 1] !== '\n') lit(script[i + 1] ?? '', true);
      i += 2;
    } else if (c === '$') {
      i = dollar(i, false);
    } else if (c === '`' || c === '(' || c === ')') {
      throw new SyntaxError_(c === '`' ? 'command substitution is not supported by the fake' : `unexpected "${c}"`);
    } else if (c === '~' && word === null && /^(\/|\s|$)/.test(script.slice(i + 1, i + 2))) {
      word = [{ kind: 'var', name: 'HOME', quoted: true }];
      i++;
    } else {
      lit(c, false);
      i++;
    }
  }
  flush();
  return tokens;
}

function parse(tokens: Token[]): AndOr[] {
  const lists: AndOr[] = [];
  let i = 0;
  const describe = (t: Token | undefined): string =>
    t === undefined ? 'unexpected end of file' : t.kind === 'op' ? `unexpected "${t.op}"` : 'unexpected redirection';

  const simple = (): SimpleCommand => {
    const cmd: SimpleCommand = { assigns: [], words: [], redirects: [] };
    for (;;) {
      const t = tokens[i];
      if (t?.kind === 'redir') {
        const target = tokens[i + 1];
        if (target?.kind !== 'word') throw new SyntaxError_(describe(target));
        cmd.redirects.push({ fd: t.fd, op: t.op, target: target.word });
        i += 2;
      } else if (t?.kind === 'word') {
        const first = t.word[0];
        const m = first?.kind === 'lit' && !first.quoted ? /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(first.text) : null;
        if (m && cmd.words.length === 0 && first?.kind === 'lit') {
          const rest: Word = [{ kind: 'lit', text: first.text.slice(m[0].length), quoted: true }, ...t.word.slice(1)];
          cmd.assigns.push({ name: m[1] as string, value: rest });
        } else {
          if (cmd.words.length === 0 && first?.kind === 'lit' && !first.quoted && t.word.length === 1 && COMPOUND.has(first.text)) {
            throw new SyntaxError_(`'${first.text}' (compound commands) is not supported by the fake`);
          }
          cmd.words.push(t.word);
        }
        i++;
      } else break;
    }
    if (!cmd.words.length && !cmd.assigns.length && !cmd.redirects.length) throw new SyntaxError_(describe(tokens[i]));
    return cmd;
  };
  const pipeline = (): Pipeline => {
    let negate = false;
    const t = tokens[i];
    if (t?.kind === 'word' && t.word.length === 1 && t.word[0]?.kind === 'lit' && !t.word[0].quoted && t.word[0].text === '!') {
      negate = true;
      i++;
    }
    const commands = [simple()];
    while (tokens[i]?.kind === 'op' && (tokens[i] as { op: string }).op === '|') {
      i++;
      commands.push(simple());
    }
    return { negate, commands };
  };

  while (i < tokens.length) {
    if (tokens[i]?.kind === 'op' && (tokens[i] as { op: string }).op === ';') {
      i++;
      continue;
    }
    const list: AndOr = { first: pipeline(), rest: [] };
    for (;;) {
      const t = tokens[i];
      if (t?.kind === 'op' && (t.op === '&&' || t.op === '||')) {
        i++;
        list.rest.push({ op: t.op, pipeline: pipeline() });
      } else break;
    }
    const t = tokens[i];
    if (t?.kind === 'op' && t.op === '&') throw new SyntaxError_('background jobs (&) are not supported by the fake');
    if (t !== undefined && !(t.kind === 'op' && t.op === ';')) throw new SyntaxError_(describe(t));
    lists.push(list);
  }
  return lists;
}

/** An output fd: a sink, plus the file it is flushed to once the command ends. */
interface OutFd {
  readonly sink: Sink;
  readonly file?: string;
}

class Shell {
  readonly #p: GuestProcess;
  readonly #vars: Record<string, string>;
  #positional: string[];
  readonly #arg0: string;
  #cwd: string;
  #status = 0;
  #errexit = false;
  #nounset = false;
  readonly #stdin: StdinRef;

  constructor(p: GuestProcess, arg0: string, positional: string[], stdin: StdinRef) {
    this.#p = p;
    this.#vars = { ...p.env };
    this.#arg0 = arg0;
    this.#positional = positional;
    this.#cwd = p.cwd;
    this.#stdin = stdin;
  }

  setFlags(flags: string): void {
    for (const f of flags) {
      if (f === 'e') this.#errexit = true;
      if (f === 'u') this.#nounset = true;
    }
  }

  async run(script: string): Promise<number> {
    let lists: AndOr[];
    try {
      lists = parse(lex(script));
    } catch (error) {
      if (!(error instanceof SyntaxError_)) throw error;
      this.#p.stderr.write(texts.syntax(error.message));
      return 2;
    }
    try {
      for (const list of lists) await this.#andOr(list);
      return this.#status;
    } catch (error) {
      if (error instanceof ShellExit) return error.status;
      throw error;
    }
  }

  async #andOr(list: AndOr): Promise<void> {
    let status = await this.#pipeline(list.first);
    let lastRan = list.rest.length === 0;
    for (const [index, step] of list.rest.entries()) {
      if ((step.op === '&&') === (status === 0)) {
        status = await this.#pipeline(step.pipeline);
        lastRan = index === list.rest.length - 1;
      } else lastRan = false;
    }
    this.#status = status;
    const negated = list.rest.length === 0 && list.first.negate;
    if (this.#errexit && status !== 0 && lastRan && !negated) throw new ShellExit(status);
  }

  async #pipeline(pipeline: Pipeline): Promise<number> {
    let input = this.#stdin;
    let status = 0;
    for (const [index, cmd] of pipeline.commands.entries()) {
      const last = index === pipeline.commands.length - 1;
      const out = last ? this.#p.stdout : new Sink();
      status = await this.#simple(cmd, input, out, this.#p.stderr);
      if (!last) input = new StdinRef(out.bytes());
    }
    return pipeline.negate ? (status === 0 ? 1 : 0) : status;
  }

  #lookup(name: string): string | undefined {
    const special: Record<string, () => string> = {
      '?': () => String(this.#status),
      '#': () => String(this.#positional.length),
      '@': () => this.#positional.join(' '),
      '*': () => this.#positional.join(' '),
      $: () => '1',
      '!': () => '',
      '-': () => (this.#errexit ? 'e' : '') + (this.#nounset ? 'u' : ''),
      '0': () => this.#arg0,
    };
    if (name in special) return (special[name] as () => string)();
    if (/^\d+$/.test(name)) return this.#positional[Number(name) - 1];
    return this.#vars[name];
  }

  #value(part: Extract<Part, { kind: 'var' }>): string {
    let value = this.#lookup(part.name);
    if (part.fallback && (value === undefined || (part.fallback.colon && value === ''))) value = part.fallback.text;
    if (value === undefined && this.#nounset) {
      this.#p.stderr.write(`sh: ${part.name}: parameter not set\n`);
      throw new ShellExit(2);
    }
    return value ?? '';
  }

  /** Parameter expansion, field splitting of unquoted results, then globbing. */
  #fields(word: Word): string[] {
    const fields: string[] = [];
    let current = '';
    let active = false;
    let glob = false;
    const end = (): void => {
      if (active) fields.push(current);
      current = '';
      active = false;
    };
    for (const part of word) {
      if (part.kind === 'lit') {
        current += part.text;
        if (part.quoted || part.text !== '') active = true;
        if (!part.quoted && /[*?]/.test(part.text)) glob = true;
        continue;
      }
      if (part.name === '@' && part.quoted) {
        this.#positional.forEach((arg, n) => {
          if (n > 0) end();
          current += arg;
          active = true;
        });
        continue;
      }
      const value = this.#value(part);
      if (part.quoted) {
        current += value;
        active = true;
        continue;
      }
      const pieces = value.split(/[ \t\n]+/).filter(Boolean);
      if (/^[ \t\n]/.test(value)) end();
      pieces.forEach((piece, n) => {
        if (n > 0) end();
        current += piece;
        active = true;
      });
      if (pieces.length && /[ \t\n]$/.test(value)) end();
    }
    end();
    return glob ? fields.flatMap((f) => this.#glob(f)) : fields;
  }

  #text(word: Word): string {
    return word.map((part) => (part.kind === 'lit' ? part.text : this.#value(part))).join('');
  }

  #glob(pattern: string): string[] {
    const vol = this.#p.fs.vol;
    const absolute = pattern.startsWith('/');
    let paths = [absolute ? '/' : ''];
    for (const segment of pattern.split('/').filter(Boolean)) {
      if (!/[*?]/.test(segment)) {
        paths = paths.map((p) => (p === '' ? segment : posix.join(p, segment)));
        continue;
      }
      const re = new RegExp(`^${segment.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
      paths = paths.flatMap((dir) => {
        try {
          const names = vol.readdirSync(posix.resolve(this.#cwd, dir || '.')) as string[];
          return names
            .filter((n) => re.test(n) && (segment.startsWith('.') || !n.startsWith('.')))
            .sort()
            .map((n) => (dir === '' ? n : posix.join(dir, n)));
        } catch {
          return [];
        }
      });
    }
    paths = paths.filter((p) => this.#p.fs.as(this.#p.user, () => vol.existsSync(posix.resolve(this.#cwd, p))));
    return paths.length ? paths : [pattern];
  }

  async #simple(cmd: SimpleCommand, stdin: StdinRef, stdout: Sink, stderr: Sink): Promise<number> {
    if (this.#p.signal.aborted) throw this.#p.signal.reason;
    const argv = cmd.words.flatMap((w) => this.#fields(w));
    const assigns = Object.fromEntries(cmd.assigns.map((a) => [a.name, this.#text(a.value)]));
    const fds = new Map<number, OutFd | StdinRef>([
      [0, stdin],
      [1, { sink: stdout }],
      [2, { sink: stderr }],
    ]);
    const redirected = this.#redirect(cmd.redirects, fds, stderr);
    if (redirected !== 0) return redirected;
    const out = fds.get(1) as OutFd;
    const err = fds.get(2) as OutFd;
    const input = fds.get(0) as StdinRef;
    let status: number;
    try {
      if (argv.length === 0) {
        Object.assign(this.#vars, assigns);
        status = 0;
      } else {
        status = await this.#execute(argv, assigns, input, out.sink, err.sink);
      }
    } finally {
      this.#flush(fds);
    }
    return status;
  }

  #redirect(redirects: Redirect[], fds: Map<number, OutFd | StdinRef>, stderr: Sink): number {
    const vol = this.#p.fs.vol;
    for (const r of redirects) {
      const target = this.#text(r.target);
      if (r.op === '>&' || r.op === '<&') {
        const source = fds.get(Number(target));
        if (target === '-') fds.set(r.fd, r.op === '>&' ? { sink: new Sink(0) } : new StdinRef(new Uint8Array()));
        else if (!/^\d+$/.test(target) || !source) {
          stderr.write(`sh: ${target}: bad file descriptor\n`);
          return 1;
        } else fds.set(r.fd, source);
        continue;
      }
      const path = posix.resolve(this.#cwd, target);
      if (path === '/dev/null') {
        fds.set(r.fd, r.op === '<' ? new StdinRef(new Uint8Array()) : { sink: new Sink(0) });
        continue;
      }
      const failure = this.#p.fs.as(this.#p.user, () => {
        try {
          if (r.op === '<') {
            fds.set(r.fd, new StdinRef(vol.readFileSync(path) as Uint8Array));
            return undefined;
          }
          const parent = posix.dirname(path);
          if (!vol.existsSync(parent) || !vol.statSync(parent).isDirectory()) return texts.cantCreate(target, nonexistentDirectory);
          if (vol.existsSync(path) && vol.statSync(path).isDirectory()) return texts.cantCreate(target, GUEST_ERRNO.EISDIR ?? '');
          const fresh = !vol.existsSync(path);
          if (r.op === '>' || fresh) vol.writeFileSync(path, '');
          else vol.appendFileSync(path, '');
          if (fresh) vol.chmodSync(path, 0o644);
          fds.set(r.fd, { sink: new Sink(), file: path });
          return undefined;
        } catch (error) {
          const why = GUEST_ERRNO[(error as { code?: string }).code ?? ''] ?? String(error);
          return r.op === '<' ? texts.cantOpen(target, why) : texts.cantCreate(target, why);
        }
      });
      if (failure) {
        stderr.write(failure);
        return 1;
      }
    }
    return 0;
  }

  #flush(fds: Map<number, OutFd | StdinRef>): void {
    const flushed = new Set<Sink>();
    for (const fd of fds.values()) {
      if (fd instanceof StdinRef || !fd.file || flushed.has(fd.sink)) continue;
      flushed.add(fd.sink);
      const { file, sink } = fd;
      this.#p.fs.as(this.#p.user, () => this.#p.fs.vol.appendFileSync(file, sink.bytes()));
    }
  }

  async #execute(
    argv: string[],
    assigns: Record<string, string>,
    stdin: StdinRef,
    stdout: Sink,
    stderr: Sink,
  ): Promise<number> {
    const [name, ...args] = argv as [string, ...string[]];
    switch (name) {
      case 'exit': {
        const code = args[0] === undefined ? this.#status : Number(args[0]);
        throw new ShellExit(Number.isInteger(code) ? code & 0xff : 2);
      }
      case ':':
        return 0;
      case 'cd': {
        const target = posix.resolve(this.#cwd, args[0] ?? this.#vars.HOME ?? '/');
        const ok = this.#p.fs.as(this.#p.user, () => {
          const vol = this.#p.fs.vol;
          return vol.existsSync(target) && vol.statSync(target).isDirectory();
        });
        if (!ok) {
          stderr.write(texts.cd(args[0] ?? '', GUEST_ERRNO.ENOENT ?? ''));
          return 2;
        }
        this.#cwd = target;
        this.#vars.PWD = target;
        return 0;
      }
      case 'export':
      case 'readonly':
        for (const a of args) {
          const eq = a.indexOf('=');
          if (eq > 0) this.#vars[a.slice(0, eq)] = a.slice(eq + 1);
        }
        return 0;
      case 'unset':
        for (const a of args) delete this.#vars[a];
        return 0;
      case 'set': {
        const dashdash = args.indexOf('--');
        for (const a of dashdash === -1 ? args : args.slice(0, dashdash)) {
          if (/^-[a-z]+$/.test(a)) this.setFlags(a.slice(1));
          if (/^\+[a-z]+$/.test(a)) {
            if (a.includes('e')) this.#errexit = false;
            if (a.includes('u')) this.#nounset = false;
          }
        }
        if (dashdash !== -1) this.#positional = args.slice(dashdash + 1);
        return 0;
      }
      case 'shift': {
        const n = Number(args[0] ?? 1);
        if (n > this.#positional.length) return 1;
        this.#positional = this.#positional.slice(n);
        return 0;
      }
      case 'command':
        if (args[0] === '-v' || args[0] === '-V') {
          const found = args.slice(1).map((n) => this.#p.which(n));
          for (const f of found) if (f) stdout.write(`${f}\n`);
          return found.every(Boolean) ? 0 : 1;
        }
        return args.length ? this.#execute(args, assigns, stdin, stdout, stderr) : 0;
      case 'exec':
        if (!args.length) return 0;
        throw new ShellExit(await this.#execute(args, assigns, stdin, stdout, stderr));
      default: {
        const code = await this.#p.spawn({
          argv,
          env: { ...this.#vars, ...assigns },
          cwd: this.#cwd,
          stdin,
          stdout,
          stderr,
        });
        if (code === null) {
          stderr.write(texts.notFound(name));
          return 127;
        }
        return code;
      }
    }
  }
}

/** `sh [-eux] -c SCRIPT [NAME [ARGS...]]`, `sh FILE [ARGS...]`, or a script on stdin. */
export const shProgram: GuestProgram = async (p) => {
  const args = p.argv.slice(1);
  let flags = '';
  let command = false;
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--') {
      i++;
      break;
    }
    if (!/^[-+][a-zA-Z]+$/.test(a)) break;
    if (a.startsWith('+')) continue;
    for (const f of a.slice(1)) {
      if (f === 'c') command = true;
      else if ('euxsil'.includes(f)) flags += f;
      else {
        p.stderr.write(`sh: -${f}: invalid option\n`);
        return 2;
      }
    }
  }
  let script: string;
  let arg0 = posix.basename(p.argv[0] ?? 'sh');
  let positional: string[];
  let stdin = p.stdinRef;
  if (command) {
    const text = args[i];
    if (text === undefined) {
      p.stderr.write('sh: -c requires an argument\n');
      return 2;
    }
    script = text;
    arg0 = args[i + 1] ?? arg0;
    positional = args.slice(i + 2);
  } else if (args[i] !== undefined && !flags.includes('s')) {
    const file = args[i] as string;
    try {
      script = p.fs.as(p.user, () => String(p.fs.vol.readFileSync(posix.resolve(p.cwd, file), 'utf8')));
    } catch (error) {
      p.stderr.write(texts.cantOpen(file, GUEST_ERRNO[(error as { code?: string }).code ?? ''] ?? String(error)));
      return 2;
    }
    arg0 = file;
    positional = args.slice(i + 1);
  } else {
    script = toText(p.stdin);
    stdin = new StdinRef(new Uint8Array());
    positional = args.slice(i);
  }
  const shell = new Shell(p, arg0, positional, stdin);
  shell.setFlags(flags);
  return shell.run(script);
};
