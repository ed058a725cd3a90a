/** `seq [-w] [-s SEP] [FIRST [INC]] LAST`: printf("%0*.*f"), widths and decimals from the operands. */
import { UsageFailure, type Applet } from './applet.ts';
import { getopt } from './getopt.ts';

export const seq: Applet = {
  source: 'coreutils/seq.c',
  usage: '[-w] [-s SEP] [FIRST [INC]] LAST',
  summary: 'Print numbers from FIRST to LAST, in steps of INC.',
  main(p) {
    const o = getopt(p, p.argv.slice(1), { short: '+ws:' });
    const args = o.operands;
    if (args.length < 1 || args.length > 3) throw new UsageFailure();
    const numbers = args.map((a) => (/^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(a) ? Number(a) : Number.NaN));
    if (numbers.some((n) => Number.isNaN(n))) throw new UsageFailure();
    const last = numbers.at(-1) as number;
    const first = args.length > 1 ? (numbers[0] as number) : 1;
    const increment = args.length === 3 ? (numbers[1] as number) : 1;
    // Width: the widest integer part; decimals: the most of any operand but the last.
    let width = 0;
    let frac = 0;
    args.forEach((a, i) => {
      const dot = a.indexOf('.');
      width = Math.max(width, dot === -1 ? a.length : dot);
      if (i < args.length - 1) frac = Math.max(frac, dot === -1 ? 0 : a.length - dot);
    });
    if (frac) {
      frac--;
      if (frac) width += frac + 1;
    }
    if (!o.has('w')) width = 0;
    const sep = o.value('s') ?? '\n';
    const out: string[] = [];
    for (let n = 0, v = first; increment >= 0 ? v <= last : v >= last; n++, v = first + n * increment) {
      const text = v.toFixed(frac);
      out.push(v < 0 ? `-${text.slice(1).padStart(width - 1, '0')}` : text.padStart(width, '0'));
      if (increment === 0) break;
    }
    if (out.length) p.stdout.write(`${out.join(sep)}\n`);
    return 0;
  },
};
