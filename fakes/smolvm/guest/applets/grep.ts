/**
 * `grep [-HhnlLoqvsrRiwxFEzc] [-m N] [-A|B|C N] {PATTERN | -e PATTERN... | -f FILE...} [FILE]...`.
 * Exit 0 on a match, 1 on none, 2 when a file could not be opened (usage errors are 2 too).
 */
import { posix } from 'node:path';
import { complain, die, UsageFailure, type Applet, type AppletProcess } from './applet.ts';
import { abs, errno, readInput, tryStat } from './files.ts';
import { getopt, type Options } from './getopt.ts';
import { compile, RegexError } from './regex.ts';

export const grep: Applet = {
  source: 'findutils/grep.c',
  usage: '[-HhnlLoqvsrRiwFEz] [-m N] [-A|B|C N] { PATTERN | -e PATTERN... | -f FILE... } [FILE]...',
  summary: 'Search for PATTERN in FILEs (or stdin)',
  usageExit: 2,
  main(p) {
    const o = getopt(p, p.argv.slice(1), { short: 'lnqvscFiHhe:f:LorRm:wxA:B:C:EzaI' });
    const operands = [...o.operands];
    const patterns = [...o.values('e')];
    for (const file of o.values('f')) {
      try {
        patterns.push(...new TextDecoder().decode(readInput(p, file)).replace(/\n$/, '').split('\n'));
      } catch (error) {
        die(p, `${file}: ${errno(error)}`, 2);
      }
    }
    if (!o.has('e') && !o.has('f')) {
      const first = operands.shift();
      if (first === undefined) throw new UsageFailure();
      patterns.push(...first.split('\n'));
    }
    const matchers = patterns.map((pattern) => matcher(p, pattern, o));
    const files = operands.length ? operands : ['-'];
    const state: Search = {
      p,
      o,
      matchers,
      showName: (files.length > 1 || o.has('H')) && !o.has('h'),
      matched: false,
      listed: false,
      openErrors: false,
    };
    for (const file of files) {
      if (file !== '-' && (o.has('r') || o.has('R')) && tryStat(p, file)?.isDirectory()) {
        if (!o.has('h')) state.showName = true;
        walkTree(state, file);
        continue;
      }
      searchFile(state, file);
      if (state.matched && o.has('q')) return 0;
    }
    if (state.openErrors) return 2;
    return (o.has('L') ? state.listed : state.matched) ? 0 : 1;
  },
};

interface Search {
  readonly p: AppletProcess;
  readonly o: Options;
  readonly matchers: ReadonlyArray<(line: string) => Array<[number, number]>>;
  showName: boolean;
  matched: boolean;
  /** -L printed a name: that is grep's "match" (exit 0). */
  listed: boolean;
  openErrors: boolean;
}

/** A line's match spans for one pattern, honouring -F, -i, -w, -x, -E. */
function matcher(p: AppletProcess, pattern: string, o: Options): (line: string) => Array<[number, number]> {
  let source: string;
  try {
    source = o.has('F') ? pattern.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&') : compile(pattern, { extended: o.has('E') }).source;
  } catch (error) {
    if (error instanceof RegexError) die(p, `bad regex '${pattern}': ${error.message}`, 2);
    throw error;
  }
  if (o.has('x')) source = `^(?:${source})$`;
  else if (o.has('w')) source = `(?<![\\w])(?:${source})(?![\\w])`;
  const re = new RegExp(source, `g${o.has('i') ? 'i' : ''}`);
  return (line) => {
    const spans: Array<[number, number]> = [];
    re.lastIndex = 0;
    for (let m = re.exec(line); m; m = re.exec(line)) {
      spans.push([m.index, m.index + m[0].length]);
      if (m[0].length === 0) re.lastIndex++;
    }
    return spans;
  };
}

function walkTree(s: Search, dir: string): void {
  let names: string[];
  try {
    names = s.p.fs.vol.readdirSync(abs(s.p, dir)) as string[];
  } catch (error) {
    if (!s.o.has('s')) complain(s.p, `${dir}: ${errno(error)}`);
    s.openErrors = true;
    return;
  }
  for (const name of names) {
    const path = posix.join(dir, name);
    const st = tryStat(s.p, path, s.o.has('R'));
    if (st?.isDirectory()) walkTree(s, path);
    else if (st?.isFile()) searchFile(s, path);
  }
}

function searchFile(s: Search, file: string): void {
  const { p, o } = s;
  let data: Uint8Array;
  try {
    data = readInput(p, file);
  } catch (error) {
    if ((error as { code?: string }).code === 'EISDIR') return; // fopen works, reading a directory does not
    if (!o.has('s')) complain(p, `${file}: ${errno(error)}`);
    s.openErrors = true;
    return;
  }
  const name = file === '-' ? '(standard input)' : file;
  const end = o.has('z') ? '\0' : '\n';
  const text = new TextDecoder().decode(data);
  const lines = text.split(end);
  if (lines.at(-1) === '') lines.pop();
  const max = o.has('m') ? Number(o.value('m')) : Number.POSITIVE_INFINITY;
  const after = Number(o.value('A') ?? o.value('C') ?? 0);
  const before = Number(o.value('B') ?? o.value('C') ?? 0);
  const quietOutput = o.has('q') || o.has('l') || o.has('L') || o.has('c');
  let count = 0;
  let lastPrinted = 0;
  let trailing = 0;
  const print = (line: string, number: number, decoration: string): void => {
    if ((after || before) && lastPrinted && lastPrinted !== number - 1) s.p.stdout.write('--\n');
    lastPrinted = number;
    s.p.stdout.write(`${s.showName ? `${name}${decoration}` : ''}${o.has('n') ? `${number}${decoration}` : ''}${line}${end}`);
  };
  for (const [index, line] of lines.entries()) {
    const number = index + 1;
    if (count >= max) {
      if (trailing-- > 0) print(line, number, '-');
      else break;
      continue;
    }
    const spans = s.matchers.flatMap((m) => m(line));
    const hit = spans.length > 0 !== o.has('v');
    if (!hit) {
      if (trailing-- > 0 && !quietOutput) print(line, number, '-');
      continue;
    }
    count++;
    s.matched = true;
    if (o.has('q')) return;
    if (quietOutput) continue;
    for (let b = Math.max(lastPrinted + 1, number - before); b < number; b++) print(lines[b - 1] ?? '', b, '-');
    if (o.has('o') && !o.has('v')) {
      for (const [from, to] of spans.sort((a, b) => a[0] - b[0])) if (to > from) print(line.slice(from, to), number, ':');
    } else if (!o.has('o')) print(line, number, ':');
    trailing = after;
  }
  if (o.has('c')) s.p.stdout.write(`${s.showName ? `${name}:` : ''}${count}\n`);
  if (o.has('l') && count > 0) s.p.stdout.write(`${name}\n`);
  if (o.has('L') && count === 0) {
    s.listed = true;
    s.p.stdout.write(`${name}\n`);
  }
}
