/**
 * Finding where a nested construct ends, before the lexer reads its body: the `)` of `$(…)`
 * (through quotes, comments and `case` patterns), the `))` of `$((…))`, the `}` of `${…}`.
 */

/** The first `/` in a `${NAME/…}` operand that no backslash escapes; -1 when there is none. */
export function unescapedSlash(text: string): number {
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '/') return i;
  }
  return -1;
}

/** Index of the `)` closing a `$(` whose body starts at `from`; -1 when there is none. */
export function closeParen(s: string, from: number): number {
  let depth = 1;
  let inCase = 0;
  let patternNext = false;
  let wordStart = true;
  for (let i = from; i < s.length; i++) {
    const c = s[i] as string;
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === "'") {
      i = s.indexOf("'", i + 1);
      if (i === -1) return -1;
      continue;
    }
    if (c === '"' || c === '`') {
      for (i++; i < s.length && s[i] !== c; i++) {
        if (s[i] === '\\') i++;
        else if (c === '"' && s.startsWith('$(', i)) {
          i = closeParen(s, i + 2);
          if (i === -1) return -1;
        }
      }
      continue;
    }
    if (c === '#' && wordStart) {
      while (i < s.length && s[i] !== '\n') i++;
      continue;
    }
    if (wordStart) {
      const word = /^[a-z]+/.exec(s.slice(i))?.[0];
      const after = s[i + (word?.length ?? 0)];
      if (word && (after === undefined || /[\s;&|()]/.test(after))) {
        if (word === 'case') inCase++;
        else if (word === 'in' && inCase) patternNext = true;
        else if (word === 'esac' && inCase) {
          inCase--;
          patternNext = false;
        }
      }
    }
    wordStart = /[\s;&|()]/.test(c);
    if (c === ';' && s[i + 1] === ';' && inCase) {
      patternNext = true;
      i++;
    } else if (c === '(') {
      if (!(patternNext && inCase)) depth++;
    } else if (c === ')') {
      if (patternNext && inCase) patternNext = false;
      else if (--depth === 0) return i;
    }
  }
  return -1;
}

/** Index of the first `)` of the `))` closing a `$((` whose body starts at `from`; -1 when there is none. */
export function closeArith(s: string, from: number): number {
  let depth = 0;
  for (let i = from; i < s.length; i++) {
    if (s[i] === '(') depth++;
    else if (s[i] === ')') {
      if (depth === 0) return s[i + 1] === ')' ? i : -1;
      depth--;
    }
  }
  return -1;
}

/** Index of the `}` closing a `${` whose body starts at `from`; -1 when there is none. */
export function closeBrace(s: string, from: number): number {
  for (let i = from; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') i++;
    else if (c === "'") i = s.indexOf("'", i + 1) === -1 ? s.length : s.indexOf("'", i + 1);
    else if (c === '"') {
      for (i++; i < s.length && s[i] !== '"'; i++) if (s[i] === '\\') i++;
    } else if (c === '$' && s[i + 1] === '{') {
      const end = closeBrace(s, i + 2);
      if (end === -1) return -1;
      i = end;
    } else if (c === '$' && s[i + 1] === '(') {
      const end = closeParen(s, i + 2);
      if (end === -1) return -1;
      i = end;
    } else if (c === '}') return i;
  }
  return -1;
}
