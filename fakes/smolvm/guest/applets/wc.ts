/** `wc [-cmlwL] [FILE]...`: columns in l, w, m/c, L order, `%9` wide unless one count of one file. */
import type { Applet } from './applet.ts';
import { Inputs } from './files.ts';
import { getopt } from './getopt.ts';

const ORDER = ['l', 'w', 'm', 'c', 'L'] as const;

export const wc: Applet = {
  source: 'coreutils/wc.c',
  usage: '[-cmlwL] [FILE]...',
  summary: 'Count lines, words, and bytes for FILEs (or stdin)',
  main(p) {
    const o = getopt(p, p.argv.slice(1), { short: 'lwmcL' });
    const chosen = ORDER.filter((c) => o.has(c));
    const columns = chosen.length ? chosen : (['l', 'w', 'c'] as const);
    const files = o.operands.length ? o.operands : ['-'];
    const narrow = files.length === 1 && columns.length === 1;
    const totals: Record<string, number> = { l: 0, w: 0, m: 0, c: 0, L: 0 };
    let counted = 0;
    const print = (counts: Record<string, number>, name: string | undefined): void => {
      const cells = columns.map((c, i) => (narrow ? String(counts[c]) : `${i ? ' ' : ''}${String(counts[c]).padStart(9)}`));
      p.stdout.write(`${cells.join('')}${name === undefined ? '' : ` ${name}`}\n`);
    };
    const inputs = new Inputs(p, files);
    for (const [file, data] of inputs) {
      const text = new TextDecoder().decode(data);
      const counts: Record<string, number> = {
        l: data.filter((b) => b === 10).length,
        w: text.split(/\s+/).filter(Boolean).length,
        m: [...text].length,
        c: data.length,
        L: Math.max(0, ...text.split('\n').map((l) => l.length)),
      };
      for (const k of ORDER) totals[k] = k === 'L' ? Math.max(totals.L ?? 0, counts.L ?? 0) : (totals[k] ?? 0) + (counts[k] ?? 0);
      counted++;
      print(counts, o.operands.length ? file : undefined);
    }
    if (counted > 1) print(totals, 'total');
    return inputs.failed ? 1 : 0;
  },
};
