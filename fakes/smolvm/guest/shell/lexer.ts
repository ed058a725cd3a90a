/**
 * Splitting a script into tokens, as ash's `readtoken` does: words (with their quoting and
 * `$…` expansions kept as parts), operators, redirections with an optional fd, and here-document
 * bodies read after the line that names them. Errors carry ash's texts.
 */
import { ShellSyntaxError, type Part, type RedirOp, type Word } from './ast.ts';
import { closeArith, closeBrace, closeParen, unescapedSlash } from './closers.ts';

export type Op = ';' | ';;' | '&' | '&&' | '|' | '||' | '(' | ')' | '\n';

export type Token =
  | { readonly kind: 'word'; readonly word: Word; readonly line: number }
  | { readonly kind: 'op'; readonly op: Op; readonly line: number }
  | { readonly kind: 'redir'; readonly fd: number | null; readonly op: RedirOp; readonly line: number; heredoc?: { body: string; quoted: boolean } }
  | { readonly kind: 'eof'; readonly line: number };

const META = new Set([' ', '\t', '\n', ';', '&', '|', '(', ')', '<', '>']);
const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;
const SPECIAL = /^[0-9@*#?$!-]/;

export class Lexer {
  readonly #s: string;
  #pos = 0;
  line: number;
  #pending: Array<{ token: Extract<Token, { kind: 'redir' }>; delimiter: string; strip: boolean; quoted: boolean }> = [];

  constructor(script: string, firstLine: number) {
    this.#s = script;
    this.line = firstLine;
  }

  #fail(message: string): never {
    throw new ShellSyntaxError(message, this.line);
  }

  next(): Token {
    const s = this.#s;
    for (;;) {
      const c = s[this.#pos];
      if (c === ' ' || c === '\t') this.#pos++;
      else if (c === '\\' && s[this.#pos + 1] === '\n') {
        this.#pos += 2;
        this.line++;
      } else if (c === '#') {
        while (this.#pos < s.length && s[this.#pos] !== '\n') this.#pos++;
      } else break;
    }
    const line = this.line;
    const c = s[this.#pos];
    if (c === undefined) return { kind: 'eof', line };
    if (c === '\n') {
      this.#pos++;
      this.line++;
      this.#readHeredocs();
      return { kind: 'op', op: '\n', line };
    }
    const two = s.slice(this.#pos, this.#pos + 2);
    for (const op of ['&&', '||', ';;'] as const) {
      if (two === op) {
        this.#pos += 2;
        return { kind: 'op', op, line };
      }
    }
    if (c === ';' || c === '&' || c === '|' || c === '(' || c === ')') {
      this.#pos++;
      return { kind: 'op', op: c, line };
    }
    if (c === '<' || c === '>') return this.#redirect(null, line);
    const start = this.#pos;
    const word = this.#word();
    if (/^\d+$/.test(word.raw) && (s[this.#pos] === '<' || s[this.#pos] === '>') && this.#pos - start === word.raw.length) {
      return this.#redirect(Number(word.raw), line);
    }
    return { kind: 'word', word, line };
  }

  #redirect(fd: number | null, line: number): Token {
    const s = this.#s;
    const ops: RedirOp[] = ['<<-', '<<', '<>', '<&', '>>', '>&', '>|', '<', '>'];
    const op = ops.find((o) => s.startsWith(o, this.#pos)) as RedirOp;
    this.#pos += op.length;
    const token: Extract<Token, { kind: 'redir' }> = { kind: 'redir', fd, op, line };
    if (op === '<<' || op === '<<-') {
      // The delimiter is the next word; its quotes decide whether the body is expanded.
      while (s[this.#pos] === ' ' || s[this.#pos] === '\t') this.#pos++;
      const start = this.#pos;
      const word = this.#word();
      if (word.raw === '') this.#fail(`unexpected ${describeAt(s[start])}`);
      const delimiter = word.parts.map((p) => (p.kind === 'lit' ? p.text : '')).join('');
      this.#pending.push({ token, delimiter, strip: op === '<<-', quoted: /['"\\]/.test(word.raw) });
      this.#heredocWords.set(token, word);
    }
    return token;
  }

  /** Delimiter words of here-documents, for the parser (it treats them as the redirect target). */
  readonly #heredocWords = new Map<Token, Word>();
  heredocWord(token: Token): Word | undefined {
    return this.#heredocWords.get(token);
  }

  #readHeredocs(): void {
    const s = this.#s;
    for (const doc of this.#pending) {
      let body = '';
      while (this.#pos < s.length) {
        const end = s.indexOf('\n', this.#pos);
        let text = s.slice(this.#pos, end === -1 ? s.length : end);
        this.#pos = end === -1 ? s.length : end + 1;
        this.line++;
        if (doc.strip) text = text.replace(/^\t+/, '');
        if (text === doc.delimiter) break;
        body += `${text}\n`;
      }
      doc.token.heredoc = { body, quoted: doc.quoted };
    }
    this.#pending = [];
  }

  /** Flush here-documents whose line ended the script without a newline. */
  finish(): void {
    for (const doc of this.#pending) doc.token.heredoc = { body: '', quoted: doc.quoted };
    this.#pending = [];
  }

  /** The parts of `text` as one unquoted word, blanks included (`${x:-a b}`'s operand). */
  static wordParts(text: string, line: number): Part[] {
    return new Lexer(text, line).#word(false).parts;
  }

  /** `text` as the inside of double quotes without the quotes (arithmetic, here-documents). */
  static doubleParts(text: string, line: number): Part[] {
    return new Lexer(text, line).#double(true);
  }

  #word(stopAtMeta = true): Word {
    const s = this.#s;
    const start = this.#pos;
    const parts: Part[] = [];
    const lit = (text: string, quoted: boolean): void => {
      const last = parts.at(-1);
      if (last?.kind === 'lit' && last.quoted === quoted) parts[parts.length - 1] = { kind: 'lit', text: last.text + text, quoted };
      else parts.push({ kind: 'lit', text, quoted });
    };
    if (s[this.#pos] === '~') {
      const m = /^~([A-Za-z0-9_.-]*)(?=\/|$|[\s;&|()<>:])/.exec(s.slice(this.#pos));
      if (m) {
        parts.push({ kind: 'tilde', user: m[1] as string });
        this.#pos += m[0].length;
      }
    }
    while (this.#pos < s.length && !(stopAtMeta && META.has(s[this.#pos] as string))) {
      const c = s[this.#pos] as string;
      if (c === '\\') {
        const n = s[this.#pos + 1];
        this.#pos += 2;
        if (n === '\n') this.line++;
        else if (n !== undefined) lit(n, true);
      } else if (c === "'") {
        const end = s.indexOf("'", this.#pos + 1);
        if (end === -1) this.#fail('unterminated quoted string');
        const text = s.slice(this.#pos + 1, end);
        this.line += text.split('\n').length - 1;
        lit(text, true);
        this.#pos = end + 1;
      } else if (c === '"') {
        this.#pos++;
        const inner = this.#double();
        if (inner.length === 0) lit('', true);
        for (const p of inner) p.kind === 'lit' ? lit(p.text, true) : parts.push(p);
      } else if (c === '$') parts.push(...this.#dollar(false));
      else if (c === '`') parts.push(this.#backquote(false));
      else {
        lit(c, false);
        this.#pos++;
      }
    }
    return { parts, raw: s.slice(start, this.#pos) };
  }

  /** The inside of "…", consuming the closing quote; `bare`: to the end, `"` being plain text. */
  #double(bare = false): Part[] {
    const s = this.#s;
    const parts: Part[] = [];
    const lit = (text: string): void => {
      const last = parts.at(-1);
      if (last?.kind === 'lit') parts[parts.length - 1] = { kind: 'lit', text: last.text + text, quoted: true };
      else parts.push({ kind: 'lit', text, quoted: true });
    };
    for (;;) {
      const c = s[this.#pos];
      if (c === undefined) {
        if (bare) return parts;
        this.#fail('unterminated quoted string');
      }
      if (c === '"' && !bare) {
        this.#pos++;
        return parts;
      }
      if (c === '\\' && (bare ? '$`\\\n' : '$`"\\\n').includes(s[this.#pos + 1] ?? 'x')) {
        if (s[this.#pos + 1] === '\n') this.line++;
        else lit(s[this.#pos + 1] as string);
        this.#pos += 2;
      } else if (c === '$') parts.push(...this.#dollar(true));
      else if (c === '`') parts.push(this.#backquote(true));
      else {
        if (c === '\n') this.line++;
        lit(c);
        this.#pos++;
      }
    }
  }

  #dollar(quoted: boolean): Part[] {
    const s = this.#s;
    const at = this.#pos;
    if (s.startsWith('$((', at)) {
      const end = closeArith(s, at + 3);
      if (end === -1) this.#fail("missing '))'");
      const expr = Lexer.doubleParts(s.slice(at + 3, end), this.line);
      this.#pos = end + 2;
      return [{ kind: 'arith', expr, quoted }];
    }
    if (s.startsWith('$(', at)) {
      const end = closeParen(s, at + 2);
      if (end === -1) this.#fail('unexpected end of file (expecting ")")');
      const script = s.slice(at + 2, end);
      this.line += script.split('\n').length - 1;
      this.#pos = end + 1;
      return [{ kind: 'cmd', script, quoted }];
    }
    if (s.startsWith('${', at)) {
      const end = closeBrace(s, at + 2);
      if (end === -1) this.#fail("missing '}'");
      this.#pos = end + 1;
      return [braced(s.slice(at + 2, end), quoted, this.line)];
    }
    const rest = s.slice(at + 1);
    const name = NAME.exec(rest)?.[0] ?? SPECIAL.exec(rest)?.[0];
    if (!name) {
      this.#pos++;
      return [{ kind: 'lit', text: '$', quoted }];
    }
    this.#pos += 1 + name.length;
    return [{ kind: 'param', name, op: null, arg: null, quoted }];
  }

  #backquote(quoted: boolean): Part {
    const s = this.#s;
    let script = '';
    let i = this.#pos + 1;
    for (;;) {
      const c = s[i];
      if (c === undefined) this.#fail('unterminated quoted string');
      if (c === '`') break;
      if (c === '\\' && '$`\\'.includes(s[i + 1] ?? 'x')) {
        script += s[i + 1];
        i += 2;
        continue;
      }
      if (c === '\n') this.line++;
      script += c;
      i++;
    }
    this.#pos = i + 1;
    return { kind: 'cmd', script, quoted };
  }
}

function describeAt(c: string | undefined): string {
  return c === undefined ? 'end of file' : c === '\n' ? 'newline' : `"${c}"`;
}

/** `${…}`: `#NAME`, `NAME`, or `NAME OP WORD` (ash's BASH_SUBSTR and PATTERN_SUBST included). */
function braced(body: string, quoted: boolean, line: number): Part {
  const bad = (): never => {
    throw new ShellSyntaxError('bad substitution', line);
  };
  if (body.startsWith('#') && body.length > 1) {
    const name = NAME.exec(body.slice(1))?.[0] ?? SPECIAL.exec(body.slice(1))?.[0];
    if (name && name.length === body.length - 1) return { kind: 'param', name, op: 'len', arg: null, quoted };
  }
  const name = NAME.exec(body)?.[0] ?? /^\d+/.exec(body)?.[0] ?? SPECIAL.exec(body)?.[0];
  if (!name) return bad();
  const rest = body.slice(name.length);
  if (rest === '') return { kind: 'param', name, op: null, arg: null, quoted };
  const op = (['##', '%%', ':-', ':=', ':?', ':+', '//', '-', '=', '?', '+', '#', '%', '/', ':'] as const).find((o) => rest.startsWith(o));
  if (!op) return bad();
  const text = rest.slice(op.length);
  // A pattern operand stays a pattern inside double quotes; a value operand is quoted there.
  const pattern = ['#', '##', '%', '%%', '/', '//'].includes(op);
  const arg = (t: string): Part[] => (quoted && !pattern ? Lexer.doubleParts(t, line) : Lexer.wordParts(t, line));
  if (op === '/' || op === '//') {
    const slash = unescapedSlash(text);
    return {
      kind: 'param',
      name,
      op,
      quoted,
      arg: arg(slash === -1 ? text : text.slice(0, slash)),
      rep: slash === -1 ? null : arg(text.slice(slash + 1)),
    };
  }
  return { kind: 'param', name, op, arg: arg(text), quoted };
}
