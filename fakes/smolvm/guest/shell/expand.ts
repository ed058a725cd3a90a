/**
 * Word expansion in POSIX order: tilde, parameters (with ash's operators), command
 * substitution, arithmetic, then field splitting on IFS, pathname expansion and quote removal.
 */
import { posix } from 'node:path';
import { fnmatchSource } from '../fnmatch.ts';
import { ArithError, evaluate, type ArithScope } from './arith.ts';
import type { Part, Word } from './ast.ts';

/** What expansion needs from the shell. */
export interface ExpandContext {
  lookup(name: string): string | undefined;
  positional(): readonly string[];
  assign(name: string, value: string): void;
  readonly nounset: boolean;
  readonly noglob: boolean;
  home(user: string): string | undefined;
  /** `$(…)`: the output; the shell records its status. */
  substitute(script: string): Promise<string>;
  readonly arith: ArithScope;
  /** Directory entries for pathname expansion (`undefined`: not a readable directory). */
  readdir(dir: string): string[] | undefined;
  readonly cwd: string;
}

/** A fatal expansion error: `sh: MESSAGE`, exit status 2, the shell stops. */
export class ExpansionError extends Error {}

/** A piece of expanded text: quoted text is neither split nor globbed. */
interface Chunk {
  readonly text: string;
  readonly quoted: boolean;
  readonly split: boolean;
}
/** `"$@"` puts a field boundary between positional parameters. */
type Piece = Chunk | { readonly boundary: true };

const IFS_DEFAULT = ' \t\n';

export class Expander {
  readonly #c: ExpandContext;

  constructor(context: ExpandContext) {
    this.#c = context;
  }

  /** A command's words: every field of every word. */
  async fields(words: readonly Word[]): Promise<string[]> {
    const out: string[] = [];
    for (const word of words) out.push(...(await this.wordFields(word)));
    return out;
  }

  async wordFields(word: Word): Promise<string[]> {
    const pieces = await this.#pieces(word.parts, false);
    return this.#split(pieces).flatMap((field) => this.#glob(field));
  }

  /** One string, no splitting or globbing (assignments, redirect targets, `case` subjects). */
  async string(parts: readonly Part[]): Promise<string> {
    const pieces = await this.#pieces(parts, true);
    return pieces.map((p) => ('boundary' in p ? ' ' : p.text)).join('');
  }

  /** A pattern (case items, `${x#…}`): quoted characters lose their pattern meaning. */
  async pattern(parts: readonly Part[]): Promise<string> {
    const pieces = await this.#pieces(parts, true);
    return pieces.map((p) => ('boundary' in p ? ' ' : p.quoted ? p.text.replace(/[\\*?[\]]/g, '\\$&') : p.text)).join('');
  }

  async #pieces(parts: readonly Part[], single: boolean): Promise<Piece[]> {
    const out: Piece[] = [];
    for (const part of parts) {
      switch (part.kind) {
        case 'lit':
          out.push({ text: part.text, quoted: part.quoted, split: false });
          break;
        case 'tilde': {
          const home = part.user === '' ? this.#c.lookup('HOME') : this.#c.home(part.user);
          out.push({ text: home ?? `~${part.user}`, quoted: true, split: false });
          break;
        }
        case 'cmd': {
          const text = (await this.#c.substitute(part.script)).replace(/\n+$/, '');
          out.push({ text, quoted: part.quoted, split: !part.quoted && !single });
          break;
        }
        case 'arith': {
          let value: bigint;
          try {
            value = evaluate(await this.string(part.expr), this.#c.arith);
          } catch (error) {
            if (error instanceof ArithError) throw new ExpansionError(error.message);
            throw error;
          }
          out.push({ text: String(value), quoted: part.quoted, split: !part.quoted && !single });
          break;
        }
        case 'param':
          out.push(...(await this.#param(part, single)));
          break;
      }
    }
    return out;
  }

  async #param(part: Extract<Part, { kind: 'param' }>, single: boolean): Promise<Piece[]> {
    const c = this.#c;
    const { name, op, quoted } = part;
    const split = !quoted && !single;
    if ((name === '@' || name === '*') && op === null) {
      const args = c.positional();
      if (name === '@' && quoted && !single) {
        return args.flatMap((a, i): Piece[] => (i ? [{ boundary: true }, { text: a, quoted: true, split: false }] : [{ text: a, quoted: true, split: false }]));
      }
      const ifs = c.lookup('IFS');
      const joiner = quoted || single ? (ifs === undefined ? ' ' : (ifs[0] ?? '')) : ' ';
      if (!quoted && !single)
        return args.flatMap((a, i): Piece[] => (i ? [{ boundary: true }, { text: a, quoted: false, split: true }] : [{ text: a, quoted: false, split: true }]));
      return [{ text: args.join(joiner), quoted, split }];
    }
    let value = c.lookup(name);
    const unsetOrNull = (colon: boolean): boolean => value === undefined || (colon && value === '');
    const word = async (): Promise<string> => this.string(part.arg ?? []);
    switch (op) {
      case 'len':
        if (value === undefined && c.nounset) throw new ExpansionError(`${name}: parameter not set`);
        return [{ text: String((value ?? '').length), quoted, split }];
      case '-':
      case ':-':
        if (unsetOrNull(op === ':-')) return this.#pieces(part.arg ?? [], single);
        break;
      case '=':
      case ':=':
        if (unsetOrNull(op === ':=')) {
          value = await word();
          c.assign(name, value);
        }
        break;
      case '?':
      case ':?':
        if (unsetOrNull(op === ':?')) {
          const message = await word();
          throw new ExpansionError(`${name}: ${message || (op === ':?' ? 'parameter not set or null' : 'parameter not set')}`);
        }
        break;
      case '+':
      case ':+':
        return unsetOrNull(op === ':+') ? [] : this.#pieces(part.arg ?? [], single);
      case '#':
      case '##':
      case '%':
      case '%%':
        value = trim(value ?? '', await this.pattern(part.arg ?? []), op);
        break;
      case '/':
      case '//':
        value = replace(value ?? '', await this.pattern(part.arg ?? []), await this.string(part.rep ?? []), op === '//');
        break;
      case ':': {
        const [offset = '0', length] = (await word()).split(':');
        const text = value ?? '';
        const at = Number(evaluate(offset, c.arith));
        const from = at < 0 ? Math.max(0, text.length + at) : at;
        value = length === undefined ? text.slice(from) : text.slice(from, from + Number(evaluate(length, c.arith)));
        break;
      }
      case null:
        break;
    }
    if (value === undefined && c.nounset && !/^[0-9@*#?$!-]$/.test(name)) throw new ExpansionError(`${name}: parameter not set`);
    return [{ text: value ?? '', quoted, split }];
  }

  /** Field splitting: IFS whitespace runs separate fields; other IFS characters each end one. */
  #split(pieces: Piece[]): Chunk[][] {
    const ifs = this.#c.lookup('IFS') ?? IFS_DEFAULT;
    const white = [...ifs].filter((ch) => ' \t\n'.includes(ch)).join('');
    const other = [...ifs].filter((ch) => !' \t\n'.includes(ch)).join('');
    const esc = (s: string): string => s.replace(/[\\\]^-]/g, '\\$&');
    const delimiter =
      ifs === ''
        ? null
        : new RegExp(
            `(${white ? `[${esc(white)}]*` : ''}${other ? `[${esc(other)}]` : '(?!)'}${white ? `[${esc(white)}]*` : ''}${white ? `|[${esc(white)}]+` : ''})`,
          );
    const fields: Chunk[][] = [];
    let current: Chunk[] = [];
    let content = false;
    const finish = (force: boolean): void => {
      if (content || force) fields.push(current);
      current = [];
      content = false;
    };
    for (const piece of pieces) {
      if ('boundary' in piece) {
        finish(true);
        continue;
      }
      if (!piece.split || delimiter === null) {
        current.push(piece);
        if (piece.quoted || piece.text !== '') content = true;
        continue;
      }
      for (const token of piece.text.split(delimiter)) {
        if (token === '') continue;
        if (delimiter.test(token) && new RegExp(`^(?:${delimiter.source})$`).test(token)) {
          finish(/[^ \t\n]/.test(token) && other.length > 0);
          continue;
        }
        current.push({ text: token, quoted: false, split: false });
        content = true;
      }
    }
    finish(false);
    return fields;
  }

  /** Pathname expansion of one field; no match leaves the field as it was. */
  #glob(field: Chunk[]): string[] {
    const plain = field.map((c) => c.text).join('');
    if (this.#c.noglob || !field.some((c) => !c.quoted && /[*?[]/.test(c.text))) return [plain];
    const pattern = field.map((c) => (c.quoted ? c.text.replace(/[\\*?[\]]/g, '\\$&') : c.text)).join('');
    const matches = expandPath(pattern, this.#c);
    return matches.length ? matches : [plain];
  }
}

function expandPath(pattern: string, c: ExpandContext): string[] {
  const absolute = pattern.startsWith('/');
  let paths = [absolute ? '/' : ''];
  for (const segment of pattern.split('/').filter(Boolean)) {
    if (!/(^|[^\\])[*?[]/.test(segment)) {
      const literal = segment.replace(/\\(.)/g, '$1');
      paths = paths.map((p) => (p === '' ? literal : posix.join(p, literal)));
      continue;
    }
    const re = new RegExp(`^${fnmatchSource(segment)}$`);
    paths = paths.flatMap((dir) =>
      (c.readdir(posix.resolve(c.cwd, dir || '.')) ?? [])
        .filter((n) => re.test(n) && (segment.startsWith('.') || !n.startsWith('.')))
        .sort()
        .map((n) => (dir === '' ? n : posix.join(dir, n))),
    );
  }
  return paths.filter((p) => p !== '' && c.readdir(posix.dirname(posix.resolve(c.cwd, p)))?.includes(posix.basename(posix.resolve(c.cwd, p))));
}

/** `${x#p}` `${x##p}` `${x%p}` `${x%%p}`: the shortest or longest matching prefix or suffix removed. */
function trim(value: string, pattern: string, op: '#' | '##' | '%' | '%%'): string {
  const re = new RegExp(`^${fnmatchSource(pattern)}$`, 's');
  const lengths = Array.from({ length: value.length + 1 }, (_, i) => i);
  const order = op === '#' || op === '%' ? lengths : lengths.reverse();
  for (const n of order) {
    if (op.startsWith('#') && re.test(value.slice(0, n))) return value.slice(n);
    if (op.startsWith('%') && re.test(value.slice(value.length - n))) return value.slice(0, value.length - n);
  }
  return value;
}

/** `${x/p/r}` and `${x//p/r}`: the longest match at each position. */
function replace(value: string, pattern: string, replacement: string, all: boolean): string {
  const re = new RegExp(`^${fnmatchSource(pattern)}$`, 's');
  let out = '';
  let i = 0;
  let replaced = false;
  while (i <= value.length) {
    let matched = -1;
    if (!replaced || all) {
      for (let end = value.length; end > i; end--) {
        if (re.test(value.slice(i, end))) {
          matched = end;
          break;
        }
      }
    }
    if (matched === -1) {
      if (i < value.length) out += value[i];
      i++;
      continue;
    }
    out += replacement;
    i = matched;
    replaced = true;
  }
  return out;
}
