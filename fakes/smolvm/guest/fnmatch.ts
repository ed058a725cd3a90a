/**
 * Shell-style patterns (`fnmatch` without FNM_PATHNAME/FNM_PERIOD, as find's -name and the
 * shell's `case` use them): `*`, `?`, `[...]` with `!`/`^` negation and `[:class:]`, `\x`.
 * Pathname expansion adds its own rules (no `/` in a segment, hidden files) on top.
 */
import { CLASSES } from './classes.ts';

/** The regex source for `pattern` (no anchors). */
export function fnmatchSource(pattern: string): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '\\' && i + 1 < pattern.length) {
      out += escapeRegExpChar(pattern[++i] as string);
    } else if (c === '*') out += '[\\s\\S]*';
    else if (c === '?') out += '[\\s\\S]';
    else if (c === '[') {
      const parsed = bracket(pattern, i + 1);
      if (!parsed) out += '\\[';
      else {
        out += parsed[0];
        i = parsed[1] - 1;
      }
    } else out += escapeRegExpChar(c);
  }
  return out;
}

export function fnmatchRegExp(pattern: string, ignoreCase = false): RegExp {
  return new RegExp(`^${fnmatchSource(pattern)}$`, ignoreCase ? 'i' : '');
}

/** Whether `pattern` has any unquoted pattern character. */
export function hasPattern(pattern: string): boolean {
  return /(^|[^\\])[*?[]/.test(pattern);
}

function escapeRegExpChar(c: string): string {
  return /[\\^$.*+?()[\]{}|/-]/.test(c) ? `\\${c}` : c;
}

function bracket(p: string, start: number): [string, number] | undefined {
  let i = start;
  let out = '[';
  if (p[i] === '!' || p[i] === '^') {
    out += '^';
    i++;
  }
  let first = true;
  while (i < p.length) {
    const c = p[i] as string;
    if (c === ']' && !first) return [`${out}]`, i + 1];
    first = false;
    if (c === '[' && p[i + 1] === ':') {
      const end = p.indexOf(':]', i + 2);
      const cls = end === -1 ? undefined : CLASSES[p.slice(i + 2, end)];
      if (cls !== undefined) {
        out += cls;
        i = end + 2;
        continue;
      }
    }
    if (c === '\\' && i + 1 < p.length) {
      out += `\\${p[i + 1]}`;
      i += 2;
      continue;
    }
    out += c === '-' && p[i + 1] !== ']' && !first ? '-' : /[\\\]^[-]/.test(c) ? `\\${c}` : c;
    i++;
  }
  return undefined;
}
