/** Parsing a sed script into commands (editors/sed.c `add_cmd`, `get_address`, `parse_cmd_args`). */
import { compile } from './regex.ts';

export class SedError extends Error {}

export type Address = { readonly kind: 'line'; readonly n: number } | { readonly kind: 'last' } | { readonly kind: 're'; readonly re: RegExp | null };

export interface Command {
  a1?: Address;
  a2?: Address | { readonly kind: 'rel'; readonly n: number };
  negate: boolean;
  name: string;
  /** Range state: inside A,B; the last line of A,+N. */
  active?: boolean;
  end?: number;
  /** `{`: index past its `}`; b/t/T: index of the label (undefined: end of script). */
  jump?: number;
  label?: string;
  text?: string;
  file?: string;
  code?: number;
  re?: RegExp | null;
  replacement?: string;
  /** Which match `s` replaces: 1 by default, N for a number flag, 0 (all) for `g`; the last flag wins. */
  which?: number;
  print?: boolean;
  ignoreCase?: boolean;
  map?: Map<string, string>;
}

const KNOWN = new Set([...'{}=:aicdDpPnNgGhHxqQbtTrwsy#']);

export function parseScript(script: string, extended: boolean): Command[] {
  const commands: Command[] = [];
  const blocks: number[] = [];
  let i = 0;
  const peek = (): string | undefined => script[i];
  const skip = (chars: RegExp): void => {
    while (i < script.length && chars.test(script[i] as string)) i++;
  };
  /** Text up to `delim` (unescaped), with `\delim` made literal; i ends past the delimiter. */
  const delimited = (delim: string): string => {
    let out = '';
    for (;;) {
      const c = script[i];
      if (c === undefined || c === '\n') throw new SedError(`unmatched '${delim}'`);
      i++;
      if (c === delim) return out;
      if (c === '\\') {
        const n = script[i++];
        if (n === undefined) throw new SedError(`unmatched '${delim}'`);
        out += n === delim ? n : n === 'n' ? '\n' : `\\${n}`;
        continue;
      }
      out += c;
    }
  };
  const regex = (delim: string, ignoreCase = false): RegExp | null => {
    const source = delimited(delim);
    return source === '' ? null : compile(source, { extended, ignoreCase });
  };
  const address = (): Address | undefined => {
    const c = peek();
    if (c === undefined) return undefined;
    if (/\d/.test(c)) {
      const m = /^\d+/.exec(script.slice(i)) as RegExpExecArray;
      i += m[0].length;
      return { kind: 'line', n: Number(m[0]) };
    }
    if (c === '$') {
      i++;
      return { kind: 'last' };
    }
    if (c === '/' || c === '\\') {
      i++;
      const delim = c === '/' ? '/' : (script[i++] ?? '');
      const re = regex(delim, script[i] === 'I');
      if (script[i] === 'I') i++;
      return { kind: 're', re };
    }
    return undefined;
  };
  const toEol = (): string => {
    const end = script.indexOf('\n', i);
    const text = script.slice(i, end === -1 ? script.length : end);
    i = end === -1 ? script.length : end;
    return text;
  };
  const word = (): string => {
    skip(/[ \t]/);
    const m = /^[^;\n}]*/.exec(script.slice(i)) as RegExpExecArray;
    i += m[0].length;
    return m[0].trim();
  };

  while (i < script.length) {
    skip(/[\s;]/);
    if (i >= script.length) break;
    const c: Command = { negate: false, name: '' };
    const a1 = address();
    if (a1) {
      c.a1 = a1;
      if (peek() === ',') {
        i++;
        skip(/[ \t]/);
        if (peek() === '+') {
          i++;
          const m = /^\d+/.exec(script.slice(i));
          if (!m) throw new SedError('no address after comma');
          i += m[0].length;
          c.a2 = { kind: 'rel', n: Number(m[0]) };
        } else {
          const a2 = address();
          if (!a2) throw new SedError('no address after comma');
          c.a2 = a2;
        }
      }
    }
    skip(/[ \t]/);
    while (peek() === '!') {
      c.negate = true;
      i++;
      skip(/[ \t]/);
    }
    const name = script[i++];
    if (name === undefined || name === '\n' || name === ';') throw new SedError('missing command');
    if (!KNOWN.has(name)) throw new SedError(`unsupported command ${name}`);
    c.name = name;
    if (name === '#') {
      toEol();
      continue;
    }
    if (name === '{') blocks.push(commands.length);
    else if (name === '}') {
      const open = blocks.pop();
      if (open !== undefined) (commands[open] as Command).jump = commands.length + 1;
    } else if ('aic'.includes(name)) c.text = text();
    else if (name === ':') {
      c.label = word();
      if (!c.label) throw new SedError("':' lacks a label");
    } else if ('btT'.includes(name)) c.label = word();
    else if (name === 'r' || name === 'w') {
      skip(/[ \t]/);
      c.file = toEol();
      if (!c.file) throw new SedError('empty filename');
    } else if (name === 'q' || name === 'Q') {
      skip(/[ \t]/);
      const m = /^\d+/.exec(script.slice(i));
      if (m) {
        c.code = Number(m[0]);
        i += m[0].length;
      }
    } else if (name === 's') substitution(c);
    else if (name === 'y') transliteration(c);
    commands.push(c);
  }
  if (blocks.length) throw new SedError('unterminated {');
  for (const c of commands) {
    if (!'btT'.includes(c.name) || !c.label) continue;
    const target = commands.findIndex((l) => l.name === ':' && l.label === c.label);
    if (target === -1) throw new SedError(`can't find label for jump to '${c.label}'`);
    c.jump = target;
  }
  return commands;

  /** a/i/c text: `a\` + lines, `a\text`, or GNU's `a text`; a trailing `\` continues a line. */
  function text(): string {
    skip(/[ \t]/);
    if (script[i] === '\\') {
      i++;
      if (script[i] === '\n') i++;
    }
    let out = '';
    while (i < script.length) {
      const ch = script[i++] as string;
      if (ch === '\\') {
        const n = script[i++];
        if (n !== undefined) out += n;
        continue;
      }
      if (ch === '\n') break;
      out += ch;
    }
    return out;
  }

  function substitution(c: Command): void {
    const delim = script[i++];
    if (delim === undefined || delim === '\n' || delim === '\\') throw new SedError('bad format in substitution expression');
    const pattern = delimited(delim);
    c.replacement = replacementText(delim);
    c.which = 1;
    for (;;) {
      const f = peek();
      if (f === 'g') c.which = 0;
      else if (f === 'p') c.print = true;
      else if (f === 'i' || f === 'I') c.ignoreCase = true;
      else if (f !== undefined && /\d/.test(f)) {
        const m = /^\d+/.exec(script.slice(i)) as RegExpExecArray;
        if (!pattern.startsWith('^')) c.which = Number(m[0]);
        i += m[0].length - 1;
      } else if (f === 'w') {
        i++;
        skip(/[ \t]/);
        c.file = toEol();
        break;
      } else if (f === undefined || /[\s;}]/.test(f)) break;
      else throw new SedError('bad option in substitution expression');
      i++;
    }
    c.re = pattern === '' ? null : compile(pattern, { extended, ignoreCase: c.ignoreCase ?? false });
  }

  /** The replacement keeps `\N`, `\n` and `&` for the run; `\delim` and `\newline` become literal. */
  function replacementText(delim: string): string {
    let out = '';
    for (;;) {
      const c = script[i];
      if (c === undefined) throw new SedError(`unmatched '${delim}'`);
      i++;
      if (c === delim) return out;
      if (c === '\\') {
        const n = script[i++];
        if (n === undefined) throw new SedError(`unmatched '${delim}'`);
        out += n === delim ? n : n === '\n' ? '\n' : `\\${n}`;
        continue;
      }
      out += c;
    }
  }

  function transliteration(c: Command): void {
    const delim = script[i++];
    if (delim === undefined) throw new SedError(`unmatched 'y'`);
    const from = [...delimited(delim).replace(/\\\\/g, '\\')];
    const to = [...delimited(delim).replace(/\\\\/g, '\\')];
    if (from.length !== to.length) throw new SedError('strings for y command are different lengths');
    c.map = new Map(from.map((ch, k) => [ch, to[k] as string]));
  }
}
