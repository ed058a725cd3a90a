/**
 * POSIX regular expressions as musl's `regcomp` reads them (basic by default, extended with
 * REG_EXTENDED), translated to a JavaScript `RegExp`: `\(` `\)` `\{m,n\}` and the GNU `\+ \? \|`
 * in basic syntax, bracket expressions with `[:class:]`, back-references, `\<`/`\>`. Errors
 * carry musl's `regerror` texts (src/regex/regerror.c).
 */

import { CLASSES } from '../classes.ts';

export class RegexError extends Error {}

/** `[...]` starting at `i` (just past `[`): the JS class and the index after `]`. */
function bracket(re: string, start: number): [string, number] {
  let i = start;
  let out = '[';
  if (re[i] === '^') {
    out += '^';
    i++;
  }
  let first = true;
  for (;;) {
    const c = re[i];
    if (c === undefined) throw new RegexError("Missing ']'");
    if (c === ']' && !first) return [`${out}]`, i + 1];
    first = false;
    if (c === '[' && re[i + 1] === ':') {
      const end = re.indexOf(':]', i + 2);
      const name = end === -1 ? undefined : re.slice(i + 2, end);
      const cls = name === undefined ? undefined : CLASSES[name];
      if (cls === undefined) throw new RegexError('Unknown character class name');
      out += cls;
      i = end + 2;
      continue;
    }
    out += c === '\\' || c === ']' || c === '[' || c === '^' ? `\\${c}` : c;
    i++;
  }
}

/** Translate `re` (POSIX basic unless `extended`) to a JavaScript pattern source. */
export function translate(re: string, extended: boolean): string {
  let out = '';
  let i = 0;
  // Where `*` is literal in a BRE: at the start, after `\(`, `\|` or an anchoring `^`.
  let atStart = true;
  let depth = 0;
  while (i < re.length) {
    const c = re[i] as string;
    const wasStart = atStart;
    atStart = false;
    if (c === '[') {
      const [cls, next] = bracket(re, i + 1);
      out += cls;
      i = next;
      continue;
    }
    if (c === '\\') {
      const n = re[i + 1];
      i += 2;
      if (n === undefined) throw new RegexError('Trailing backslash');
      if (!extended && n === '(') {
        out += '(';
        depth++;
        atStart = true;
      } else if (!extended && n === ')') {
        if (depth-- === 0) throw new RegexError("Missing ')'");
        out += ')';
      } else if (!extended && n === '{') {
        const end = re.indexOf('\\}', i);
        if (end === -1) throw new RegexError("Missing '}'");
        out += `{${re.slice(i, end)}}`;
        i = end + 2;
      } else if (!extended && (n === '+' || n === '?')) out += n;
      else if (!extended && n === '|') {
        out += '|';
        atStart = true;
      } else if (/[1-9]/.test(n)) out += `\\${n}`;
      else if (n === '<') out += '\\b(?=\\w)';
      else if (n === '>') out += '\\b(?<=\\w)';
      else if (/[wWsSbB]/.test(n)) out += `\\${n}`;
      else if (n === 'n') out += '\\n';
      else if (n === 't') out += '\\t';
      else out += /[\w\s]/.test(n) ? n : `\\${n}`;
      continue;
    }
    i++;
    if (c === '^') {
      if (extended || wasStart) {
        out += '^';
        atStart = true;
      } else out += '\\^';
    } else if (c === '$') out += extended || i === re.length || re.startsWith('\\)', i) || re.startsWith('\\|', i) ? '$' : '\\$';
    else if (c === '*') out += wasStart && !extended ? '\\*' : '*';
    else if (extended && c === '(') {
      out += '(';
      depth++;
      atStart = true;
    } else if (extended && c === ')') {
      if (depth-- === 0) throw new RegexError("Missing ')'");
      out += ')';
    } else if (extended && c === '|') {
      out += '|';
      atStart = true;
    } else if (extended && /[+?{}]/.test(c)) out += c;
    else if (/[.]/.test(c)) out += '.';
    else out += /[\\^$+?(){}|/]/.test(c) ? `\\${c}` : c;
  }
  if (depth !== 0) throw new RegexError("Missing ')'");
  return out;
}

export function compile(re: string, options: { extended?: boolean; ignoreCase?: boolean; global?: boolean } = {}): RegExp {
  const source = translate(re, options.extended ?? false);
  try {
    return new RegExp(source, `${options.ignoreCase ? 'i' : ''}${options.global ? 'g' : ''}`);
  } catch {
    throw new RegexError('Invalid regexp');
  }
}
