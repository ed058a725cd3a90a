/** `uniq [-cduiz] [-f,s,w N] [INPUT [OUTPUT]]`: adjacent duplicates, compared after skipping. */
import { die, UsageFailure, type Applet } from './applet.ts';
import { errno, readInput, writeFile } from './files.ts';
import { getopt } from './getopt.ts';

export const uniq: Applet = {
  source: 'coreutils/uniq.c',
  usage: '[-cduiz] [-f,s,w N] [FILE [OUTFILE]]',
  summary: 'Discard duplicate lines',
  main(p) {
    const o = getopt(p, p.argv.slice(1), { short: 'cduf:s:w:iz' });
    const [input = '-', output, extra] = o.operands;
    if (extra !== undefined) throw new UsageFailure();
    const number = (k: string): number => {
      const raw = o.value(k);
      if (raw === undefined) return k === 'w' ? Number.POSITIVE_INFINITY : 0;
      if (!/^\d+$/.test(raw)) die(p, `invalid number '${raw}'`);
      return Number(raw);
    };
    const [fields, chars, width] = [number('f'), number('s'), number('w')];
    let data: Uint8Array;
    try {
      data = readInput(p, input);
    } catch (error) {
      die(p, `can't open '${input}': ${errno(error)}`);
    }
    const eol = o.has('z') ? '\0' : '\n';
    const lines = new TextDecoder().decode(data).split(eol);
    if (lines.at(-1) === '') lines.pop();
    const key = (line: string): string => {
      let s = line;
      for (let i = 0; i < fields; i++) s = s.replace(/^\s*\S*/, '');
      s = s.slice(chars).slice(0, width);
      return o.has('i') ? s.toLowerCase() : s;
    };
    let out = '';
    for (let i = 0; i < lines.length; ) {
      let j = i + 1;
      while (j < lines.length && key(lines[j] as string) === key(lines[i] as string)) j++;
      const dups = j - i - 1;
      if (!(o.has('d') && dups === 0) && !(o.has('u') && dups > 0)) {
        out += `${o.has('c') ? `${String(dups + 1).padStart(7)} ` : ''}${lines[i]}${eol}`;
      }
      i = j;
    }
    if (output !== undefined && output !== '-') writeFile(p, output, out);
    else p.stdout.write(out);
    return 0;
  },
};
