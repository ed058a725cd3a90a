/**
 * `sort [-nrugMcszbdfik] [-o FILE] [-k START[.OFS][OPTS][,END[.OFS][OPTS]]] [-t CHAR] [FILE]...`:
 * keys as `get_key` cuts them, `compare_keys` with the whole-line tie-break (unless -s), -u by key.
 * The C locale's byte order, as Alpine has no other.
 */
import { die, type Applet, type AppletProcess } from './applet.ts';
import { errno, readInput, writeFile } from './files.ts';
import { getopt } from './getopt.ts';

const KEY_FLAGS = 'nghMbrdfi';
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

interface Key {
  readonly start: [number, number];
  readonly end: [number, number];
  readonly flags: string;
}

export const sort: Applet = {
  source: 'coreutils/sort.c',
  usage: '[-nrugMcszbdfiokt] [-o FILE] [-k START[.OFS][OPTS][,END[.OFS][OPTS]] [-t CHAR] [FILE]...',
  summary: 'Sort lines of text',
  usageExit: 2,
  main(p) {
    const o = getopt(p, p.argv.slice(1), { short: 'nghMVucszbrdfimS:T:o:k:t:', unmodelled: 'V' });
    const global = [...'nghMbrdfi'].filter((f) => o.has(f)).join('');
    const separator = o.value('t');
    if (separator !== undefined && separator.length !== 1) die(p, 'bad -t parameter', 2);
    const keys = o.values('k').map((spec) => parseKey(p, spec));
    if (keys.length === 0) keys.push({ start: [1, 0], end: [0, 0], flags: '' });
    const end = o.has('z') ? '\0' : '\n';
    const lines: string[] = [];
    for (const file of o.operands.length ? o.operands : ['-']) {
      let data: Uint8Array;
      try {
        data = readInput(p, file);
      } catch (error) {
        die(p, `${file}: ${errno(error)}`, 2); // coreutils 6.9 compat: the first open error aborts
      }
      const text = new TextDecoder().decode(data);
      const parts = text.split(end);
      if (parts.at(-1) === '') parts.pop();
      lines.push(...parts);
    }
    const compare = (a: string, b: string, tieBreak: boolean): number => {
      let r = 0;
      let flags = global;
      for (const key of keys) {
        flags = key.flags || global;
        r = compareValues(cut(a, key, flags, separator), cut(b, key, flags, separator), flags);
        if (r) break;
      }
      if (r === 0 && tieBreak) {
        flags = global;
        r = bytes(a, b);
      }
      return flags.includes('r') ? -r : r;
    };
    const tieBreak = !o.has('s');
    if (o.has('c')) {
      for (let i = 1; i < lines.length; i++) {
        if (compare(lines[i - 1] as string, lines[i] as string, tieBreak) > (o.has('u') ? -1 : 0)) {
          p.stderr.write(`Check line ${i}\n`);
          return 1;
        }
      }
      return 0;
    }
    let sorted = lines
      .map((line, i) => ({ line, i }))
      .sort((x, y) => compare(x.line, y.line, tieBreak) || x.i - y.i)
      .map((x) => x.line);
    if (o.has('u')) sorted = sorted.filter((line, i) => i === 0 || compare(sorted[i - 1] as string, line, false) !== 0);
    const output = sorted.map((l) => `${l}${end}`).join('');
    const file = o.value('o');
    if (file !== undefined) writeFile(p, file, output);
    else p.stdout.write(output);
    return 0;
  },
};

function parseKey(p: AppletProcess, spec: string): Key {
  const m = /^(\d+)(?:\.(\d+))?([a-zA-Z]*)(?:,(\d+)(?:\.(\d+))?([a-zA-Z]*))?$/.exec(spec);
  if (!m) die(p, /^\d/.test(spec) ? 'unknown key option' : 'bad field specification', 2);
  const flags = `${m[3] ?? ''}${(m[6] ?? '').replace('b', 'B')}`;
  for (const f of flags.replace('B', 'b')) {
    if (!'nghMVucszbrdfimSTokt'.includes(f)) die(p, 'unknown key option', 2);
    if (!KEY_FLAGS.includes(f)) die(p, 'unknown sort type', 2);
  }
  return { start: [Number(m[1]), Number(m[2] ?? 0)], end: [Number(m[4] ?? 0), Number(m[5] ?? 0)], flags };
}

const isSpace = (c: string | undefined): boolean => c !== undefined && /\s/.test(c);

/** `get_key`: the key's text (fields counted from 1; blanks belong to the following field). */
function cut(line: string, key: Key, flags: string, separator: string | undefined): string {
  const fieldEnd = (fields: number, j: number): number => {
    if (!fields) return line.length;
    let end = 0;
    let last = '';
    for (let i = 1; i < fields + j; i++) {
      last = '';
      if (separator !== undefined) {
        while (end < line.length) {
          last = line[end++] as string;
          if (last === separator) break;
        }
        if (end >= line.length && last !== separator) last = '';
      } else {
        while (isSpace(line[end])) end++;
        while (end < line.length && !isSpace(line[end])) end++;
      }
    }
    return j && last ? end - 1 : end;
  };
  let start = key.start[0] === 1 ? 0 : fieldEnd(key.start[0], 0);
  let end = fieldEnd(key.end[0], 1);
  if (flags.includes('b')) while (isSpace(line[start])) start++;
  if (flags.includes('B')) while (end > start && isSpace(line[end - 1])) end--;
  if (key.end[1]) end = Math.min(key.end[1], line.length);
  if (key.start[1]) start = Math.min(start + key.start[1] - 1, line.length);
  let s = line.slice(start, Math.max(start, end));
  if (flags.includes('d')) s = s.replace(/[^\s0-9A-Za-z]/g, '');
  if (flags.includes('i')) s = s.replace(/[^\x20-\x7e]/g, '');
  if (flags.includes('f')) s = s.toUpperCase();
  return s;
}

function bytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** `atof` / `strtod`: the longest numeric prefix after blanks, NaN when there is none. */
function leadingNumber(s: string): { value: number; rest: string } | undefined {
  const m = /^\s*([+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)/.exec(s);
  return m ? { value: Number(m[1]), rest: s.slice(m[0].length) } : undefined;
}

function compareValues(x: string, y: string, flags: string): number {
  if (flags.includes('n')) {
    const dx = leadingNumber(x)?.value ?? 0;
    const dy = leadingNumber(y)?.value ?? 0;
    return dx > dy ? 1 : dx < dy ? -1 : 0;
  }
  if (flags.includes('g') || flags.includes('h')) {
    const nx = leadingNumber(x);
    const ny = leadingNumber(y);
    if (!nx) return ny ? -1 : 0;
    if (!ny) return 1;
    if (flags.includes('h')) {
      const scale = (rest: string): number => ' kmgtpezy'.indexOf((rest[0] ?? ' ').toLowerCase());
      const diff = scale(nx.rest) - scale(ny.rest);
      if (diff) return diff;
    }
    return nx.value > ny.value ? 1 : nx.value < ny.value ? -1 : 0;
  }
  if (flags.includes('M')) {
    const mx = MONTHS.indexOf(x.trim().slice(0, 3).toLowerCase());
    const my = MONTHS.indexOf(y.trim().slice(0, 3).toLowerCase());
    if (mx === -1) return my === -1 ? 0 : -1;
    return my === -1 ? 1 : mx - my;
  }
  return bytes(x, y);
}
