/** `tr [-cds] STRING1 [STRING2]`: stdin to stdout, byte by byte; ranges, `[:class:]`, escapes. */
import { die, UsageFailure, type Applet } from './applet.ts';
import { getopt } from './getopt.ts';

const SIMPLE: Readonly<Record<string, number>> = { n: 10, t: 9, r: 13, a: 7, b: 8, f: 12, v: 11, '\\': 92 };

/** `bb_process_escape_sequence` after a backslash at `s[i]`: the byte and the index past it. */
function unescapeAt(s: string, i: number): [number, number] {
  const oct = /^[0-7]{1,3}/.exec(s.slice(i));
  if (oct) return [Number.parseInt(oct[0], 8) & 0xff, i + oct[0].length];
  const c = s[i];
  if (c === undefined) return [92, i];
  return [SIMPLE[c] ?? c.codePointAt(0) ?? 0, i + 1];
}

const range = (from: number, to: number): number[] => Array.from({ length: Math.max(0, to - from + 1) }, (_, k) => from + k);
const CLASSES: Readonly<Record<string, () => number[]>> = {
  alpha: () => [...range(65, 90), ...range(97, 122)],
  alnum: () => [...range(48, 57), ...range(65, 90), ...range(97, 122)],
  digit: () => range(48, 57),
  lower: () => range(97, 122),
  upper: () => range(65, 90),
  space: () => [9, 10, 11, 12, 13, 32],
  blank: () => [9, 32],
  punct: () => range(33, 126).filter((c) => !/[0-9A-Za-z]/.test(String.fromCharCode(c))),
  cntrl: () => [...range(0, 31), 127],
  xdigit: () => [...range(48, 57), ...range(65, 70), ...range(97, 102)],
};

/** `expand`: the byte list a tr string stands for. */
function expand(arg: string): number[] {
  const out: number[] = [];
  let i = 0;
  while (i < arg.length) {
    let c: number;
    if (arg[i] === '\\') [c, i] = unescapeAt(arg, i + 1);
    else if (arg.startsWith('[:', i)) {
      const end = arg.indexOf(':]', i + 2);
      const cls = end === -1 ? undefined : CLASSES[arg.slice(i + 2, end)];
      if (cls) {
        out.push(...cls());
        i = end + 2;
        continue;
      }
      c = 91;
      i++;
    } else {
      c = arg.charCodeAt(i);
      i++;
    }
    if (arg[i] === '-' && i + 1 < arg.length) {
      let to: number;
      if (arg[i + 1] === '\\') [to, i] = unescapeAt(arg, i + 2);
      else [to, i] = [arg.charCodeAt(i + 1), i + 2];
      out.push(...range(c, to));
    } else out.push(c);
  }
  return out;
}

export const tr: Applet = {
  source: 'coreutils/tr.c',
  usage: '[-cds] STRING1 [STRING2]',
  summary: 'Translate, squeeze, or delete characters from stdin, writing to stdout',
  main(p) {
    const o = getopt(p, p.argv.slice(1), { short: '+Ccds' });
    const [one, two] = o.operands;
    if (one === undefined) throw new UsageFailure();
    let set1 = expand(one);
    if (o.has('c') || o.has('C')) set1 = range(0, 255).filter((b) => !set1.includes(b));
    const map = range(0, 255);
    let set2: number[] = [];
    if (two !== undefined) {
      if (two === '') die(p, 'STRING2 cannot be empty');
      set2 = expand(two);
      let last = 48; // `map` starts from '0'
      set1.forEach((b, k) => {
        if (k < set2.length) last = set2[k] as number;
        map[b] = last;
      });
    }
    const inSet1 = new Set(set1);
    const inSet2 = new Set(set2);
    const out: number[] = [];
    let last = -1;
    for (const b of p.stdin) {
      if (o.has('d') && inSet1.has(b)) continue;
      const coded = map[b] as number;
      if (o.has('s') && last === coded && (inSet1.has(b) || inSet2.has(coded))) continue;
      out.push(coded);
      last = coded;
    }
    p.stdout.write(Uint8Array.from(out));
    return 0;
  },
};
