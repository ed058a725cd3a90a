/**
 * The POSIX shell grammar over the lexer's tokens, as ash parses it (shell/ash.c `list`,
 * `andor`, `pipeline`, `command`, `simplecmd`): lists, && and ||, pipelines with `!`, simple
 * commands with assignments and redirections, if/while/until/for/case, { } and ( ), and
 * `NAME()` functions. Syntax errors use ash's wording; `&` (background jobs) is not modelled.
 */
import { ShellSyntaxError, type AndOr, type Assign, type Command, type List, type Pipeline, type Redirect, type Word } from './ast.ts';
import { Lexer, type Token } from './lexer.ts';

const RESERVED = new Set(['if', 'then', 'else', 'elif', 'fi', 'do', 'done', 'case', 'esac', 'while', 'until', 'for', '{', '}', '!', 'in']);
/** Words that end a list; whoever opened the list says what it expected instead. */
const TERMINATORS = new Set(['then', 'else', 'elif', 'fi', 'do', 'done', 'esac', '}']);
const ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)=/;

/** Parse `script`; `firstLine` is what ash counts from (0 for `sh -c`, 1 for a file). */
export function parse(script: string, firstLine = 0): List {
  return new Parser(new Lexer(script, firstLine)).program();
}

class Parser {
  readonly #lexer: Lexer;
  #peeked: Token | undefined;

  constructor(lexer: Lexer) {
    this.#lexer = lexer;
  }

  #peek(): Token {
    this.#peeked ??= this.#lexer.next();
    return this.#peeked;
  }

  #take(): Token {
    const t = this.#peek();
    this.#peeked = undefined;
    if (t.kind === 'eof') this.#lexer.finish();
    return t;
  }

  /** The reserved word `t` is, when it stands unquoted as a whole word. */
  #keyword(t: Token): string | undefined {
    if (t.kind !== 'word') return undefined;
    const [only] = t.word.parts;
    return t.word.parts.length === 1 && only?.kind === 'lit' && !only.quoted && RESERVED.has(only.text) ? only.text : undefined;
  }

  #isOp(op: string): boolean {
    const t = this.#peek();
    return t.kind === 'op' && t.op === op;
  }

  #describe(t: Token): string {
    if (t.kind === 'eof') return 'end of file';
    if (t.kind === 'op') return t.op === '\n' ? 'newline' : `"${t.op}"`;
    if (t.kind === 'redir') return 'redirection';
    const kw = this.#keyword(t);
    return kw ? `"${kw}"` : 'word';
  }

  #unexpected(t: Token, expecting?: string): never {
    throw new ShellSyntaxError(`unexpected ${this.#describe(t)}${expecting ? ` (expecting "${expecting}")` : ''}`, t.line);
  }

  #linebreak(): void {
    while (this.#isOp('\n')) this.#take();
  }

  #expectKeyword(word: string): void {
    const t = this.#take();
    if (this.#keyword(t) !== word) this.#unexpected(t, word);
  }

  program(): List {
    this.#linebreak();
    const list = this.#list(new Set());
    const t = this.#peek();
    if (t.kind !== 'eof') this.#unexpected(t);
    return list;
  }

  /** and-or lists separated by `;`, `&` or newlines, up to a token in `stops` (or `)`, `;;`, EOF). */
  #list(stops: ReadonlySet<string>): List {
    const items: AndOr[] = [];
    for (;;) {
      this.#linebreak();
      const t = this.#peek();
      const kw = this.#keyword(t);
      if (t.kind === 'eof' || (kw && (stops.has(kw) || TERMINATORS.has(kw))) || (t.kind === 'op' && (t.op === ')' || t.op === ';;'))) break;
      items.push(this.#andOr());
      const sep = this.#peek();
      if (sep.kind === 'op' && sep.op === '&') {
        throw new ShellSyntaxError('background jobs (&) are not modelled by the fake smolvm', sep.line);
      }
      if (sep.kind === 'op' && (sep.op === ';' || sep.op === '\n')) this.#take();
      else break;
    }
    return { items };
  }

  /** A list that must not be empty (a compound command's body). */
  #compoundList(stops: ReadonlySet<string>, expecting: string): List {
    const list = this.#list(stops);
    const t = this.#peek();
    if (list.items.length === 0) this.#unexpected(t, t.kind === 'eof' ? expecting : undefined);
    return list;
  }

  #andOr(): AndOr {
    const first = this.#pipeline();
    const rest: AndOr['rest'] = [];
    for (;;) {
      const t = this.#peek();
      if (t.kind !== 'op' || (t.op !== '&&' && t.op !== '||')) break;
      this.#take();
      this.#linebreak();
      rest.push({ op: t.op, pipeline: this.#pipeline() });
    }
    return { first, rest };
  }

  #pipeline(): Pipeline {
    let negate = false;
    while (this.#keyword(this.#peek()) === '!') {
      this.#take();
      negate = !negate;
    }
    const commands = [this.#command()];
    while (this.#isOp('|')) {
      this.#take();
      this.#linebreak();
      commands.push(this.#command());
    }
    return { negate, commands };
  }

  #command(): Command {
    const t = this.#peek();
    const kw = this.#keyword(t);
    const line = t.line;
    let compound: Command | undefined;
    if (kw === 'if') compound = this.#if(line);
    else if (kw === 'while' || kw === 'until') {
      this.#take();
      const cond = this.#compoundList(new Set(['do']), 'do');
      this.#expectKeyword('do');
      const body = this.#compoundList(new Set(['done']), 'done');
      this.#expectKeyword('done');
      compound = { type: kw, cond, body, redirects: [], line };
    } else if (kw === 'for') compound = this.#for(line);
    else if (kw === 'case') compound = this.#case(line);
    else if (kw === '{') {
      this.#take();
      const body = this.#compoundList(new Set(['}']), '}');
      this.#expectKeyword('}');
      compound = { type: 'group', body, redirects: [], line };
    } else if (t.kind === 'op' && t.op === '(') {
      this.#take();
      const body = this.#compoundList(new Set(), ')');
      const close = this.#take();
      if (close.kind !== 'op' || close.op !== ')') this.#unexpected(close, ')');
      compound = { type: 'subshell', body, redirects: [], line };
    } else if (kw !== undefined && kw !== '!') this.#unexpected(t);
    if (compound) {
      const redirects = this.#redirects();
      return { ...compound, redirects } as Command;
    }
    return this.#simple();
  }

  #redirects(): Redirect[] {
    const out: Redirect[] = [];
    while (this.#peek().kind === 'redir') out.push(this.#redirect());
    return out;
  }

  #redirect(): Redirect {
    const t = this.#take() as Extract<Token, { kind: 'redir' }>;
    const fd = t.fd ?? (t.op.startsWith('<') ? 0 : 1);
    if (t.op === '<<' || t.op === '<<-') {
      const word = this.#lexer.heredocWord(t) as Word;
      // The body arrives once the line ends; the token is filled in by then.
      return {
        fd,
        op: t.op,
        target: word,
        get heredoc() {
          return t.heredoc ?? { body: '', quoted: false };
        },
      };
    }
    const target = this.#take();
    if (target.kind !== 'word') this.#unexpected(target);
    return { fd, op: t.op, target: target.word };
  }

  #simple(): Command {
    const line = this.#peek().line;
    const assigns: Assign[] = [];
    const words: Word[] = [];
    const redirects: Redirect[] = [];
    for (;;) {
      const t = this.#peek();
      if (t.kind === 'redir') {
        redirects.push(this.#redirect());
        continue;
      }
      if (t.kind !== 'word') break;
      const first = t.word.parts[0];
      const m = words.length === 0 && first?.kind === 'lit' && !first.quoted ? ASSIGNMENT.exec(first.text) : null;
      this.#take();
      if (m && first?.kind === 'lit') {
        const value: Word = {
          parts: [{ kind: 'lit', text: first.text.slice(m[0].length), quoted: false }, ...t.word.parts.slice(1)],
          raw: t.word.raw.slice(m[0].length),
        };
        assigns.push({ name: m[1] as string, value });
        continue;
      }
      // NAME() COMMAND: a function definition.
      if (words.length === 0 && assigns.length === 0 && this.#isOp('(')) {
        this.#take();
        const close = this.#take();
        if (close.kind !== 'op' || close.op !== ')') this.#unexpected(close, ')');
        this.#linebreak();
        const body = this.#command();
        return { type: 'function', name: t.word.raw, body, line };
      }
      words.push(t.word);
    }
    if (!words.length && !assigns.length && !redirects.length) this.#unexpected(this.#peek());
    return { type: 'simple', assigns, words, redirects, line };
  }

  #if(line: number): Command {
    this.#take();
    const clauses: Array<{ cond: List; body: List }> = [];
    let otherwise: List | null = null;
    for (;;) {
      const cond = this.#compoundList(new Set(['then']), 'then');
      this.#expectKeyword('then');
      const body = this.#compoundList(new Set(['elif', 'else', 'fi']), 'fi');
      clauses.push({ cond, body });
      const t = this.#take();
      const kw = this.#keyword(t);
      if (kw === 'elif') continue;
      if (kw === 'else') {
        otherwise = this.#compoundList(new Set(['fi']), 'fi');
        this.#expectKeyword('fi');
      } else if (kw !== 'fi') this.#unexpected(t, 'fi');
      return { type: 'if', clauses, otherwise, redirects: [], line };
    }
  }

  #for(line: number): Command {
    this.#take();
    const nameToken = this.#take();
    if (nameToken.kind !== 'word' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(nameToken.word.raw)) {
      throw new ShellSyntaxError(`bad for loop variable`, nameToken.line);
    }
    let items: Word[] | null = null;
    this.#linebreak();
    if (this.#keyword(this.#peek()) === 'in') {
      this.#take();
      items = [];
      while (this.#peek().kind === 'word') items.push((this.#take() as Extract<Token, { kind: 'word' }>).word);
      const sep = this.#take();
      if (sep.kind !== 'op' || (sep.op !== ';' && sep.op !== '\n')) this.#unexpected(sep, 'do');
    } else if (this.#isOp(';')) this.#take();
    this.#linebreak();
    this.#expectKeyword('do');
    const body = this.#compoundList(new Set(['done']), 'done');
    this.#expectKeyword('done');
    return { type: 'for', name: nameToken.word.raw, items, body, redirects: [], line };
  }

  #case(line: number): Command {
    this.#take();
    const subjectToken = this.#take();
    if (subjectToken.kind !== 'word') this.#unexpected(subjectToken, 'word');
    this.#linebreak();
    const inToken = this.#take();
    if (this.#keyword(inToken) !== 'in') this.#unexpected(inToken, 'in');
    const items: Array<{ patterns: Word[]; body: List }> = [];
    for (;;) {
      this.#linebreak();
      if (this.#keyword(this.#peek()) === 'esac') {
        this.#take();
        break;
      }
      if (this.#isOp('(')) this.#take();
      const patterns: Word[] = [];
      for (;;) {
        const p = this.#take();
        if (p.kind !== 'word') this.#unexpected(p, 'word');
        patterns.push(p.word);
        if (this.#isOp('|')) this.#take();
        else break;
      }
      const close = this.#take();
      if (close.kind !== 'op' || close.op !== ')') this.#unexpected(close, ')');
      const body = this.#list(new Set(['esac']));
      items.push({ patterns, body });
      const end = this.#peek();
      if (end.kind === 'op' && end.op === ';;') {
        this.#take();
        continue;
      }
      this.#linebreak();
      const last = this.#take();
      if (this.#keyword(last) !== 'esac') this.#unexpected(last, ';;');
      break;
    }
    return { type: 'case', subject: subjectToken.word, items, redirects: [], line };
  }
}
