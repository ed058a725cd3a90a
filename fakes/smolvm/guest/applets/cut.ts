/** `cut -b|-c|-f LIST [-d DELIM] [-s] [FILE]...`: LIST is N, N-, N-M, -M, comma separated. */
import { die, type Applet } from './applet.ts';
import { Inputs } from './files.ts';
import { getopt } from './getopt.ts';

export const cut: Applet = {
  source: 'coreutils/cut.c',
  usage: '[OPTIONS] [FILE]...',
  summary: 'Print selected fields from FILEs to stdout',
  main(p) {
    const o = getopt(p, p.argv.slice(1), { short: 'b:c:f:d:O:sDF:n', unmodelled: 'OF' });
    const kind = ['b', 'c', 'f'].filter((k) => o.has(k));
    if (kind.length === 0) die(p, 'expected a list of bytes, characters, or fields');
    if (kind.length > 1) die(p, 'only one type of list may be specified');
    const byField = kind[0] === 'f';
    if (!byField && o.has('s')) die(p, 'suppressing non-delimited lines makes sense only when operating on fields');
    if (!byField && o.has('d')) die(p, 'a delimiter may be specified only when operating on fields');
    const ranges: Array<[number, number]> = [];
    for (const token of (o.value(kind[0] as string) ?? '').split(',')) {
      if (token === '') continue;
      const [from = '', to] = token.split('-');
      const positive = (s: string): number => {
        if (!/^\d+$/.test(s)) die(p, `invalid number '${s}'`);
        return Number(s);
      };
      const s = from === '' ? 0 : Math.max(0, positive(from) - 1);
      let e: number;
      if (to === undefined) e = s;
      else if (to === '') e = Number.POSITIVE_INFINITY;
      else {
        e = positive(to);
        if (e < s) die(p, `${e}<${s}`);
        e--;
      }
      ranges.push([s, e]);
    }
    if (ranges.length === 0) die(p, 'missing list of positions');
    const wanted = (i: number): boolean => ranges.some(([s, e]) => i >= s && i <= e);
    const delim = (o.value('d') ?? '\t').slice(0, 1) || '\t';
    const inputs = new Inputs(p, o.operands.length ? o.operands : ['-']);
    for (const [, data] of inputs) {
      const lines = new TextDecoder().decode(data).split('\n');
      if (lines.at(-1) === '') lines.pop();
      for (const line of lines) {
        if (!byField) {
          p.stdout.write(`${[...line].filter((_, i) => wanted(i)).join('')}\n`);
          continue;
        }
        if (!line.includes(delim)) {
          if (!o.has('s')) p.stdout.write(`${line}\n`);
          continue;
        }
        p.stdout.write(
          `${line
            .split(delim)
            .filter((_, i) => wanted(i))
            .join(delim)}\n`,
        );
      }
    }
    return inputs.failed ? 1 : 0;
  },
};
