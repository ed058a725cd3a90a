/** `cat [-nbu] [FILE]...`; `-` or no operand is stdin. */
import type { Applet } from './applet.ts';
import { errno, Inputs } from './files.ts';
import { getopt } from './getopt.ts';

export const cat: Applet = {
  source: 'coreutils/cat.c',
  usage: '[-nbvteA] [FILE]...',
  summary: 'Print FILEs to stdout',
  main(p) {
    const o = getopt(p, p.argv.slice(1), { short: 'etvAnbu', unmodelled: 'etvA' });
    let line = 1;
    // `open_or_warn_stdin`, then a read of a directory fails with EISDIR.
    const inputs = new Inputs(p, o.operands.length ? o.operands : ['-'], (file, error) =>
      (error as { code?: string }).code === 'EISDIR' ? 'read error: Is a directory' : `can't open '${file}': ${errno(error)}`,
    );
    for (const [, data] of inputs) {
      if (!o.has('n') && !o.has('b')) {
        p.stdout.write(data);
        continue;
      }
      // `print_numbered_lines`: width 6, a tab, numbering continued across files.
      const text = new TextDecoder().decode(data);
      for (const piece of text.split(/(?<=\n)/)) {
        if (piece === '') continue;
        if (o.has('b') && piece === '\n') p.stdout.write(piece);
        else p.stdout.write(`${String(line++).padStart(6)}\t${piece}`);
      }
    }
    return inputs.failed ? 1 : 0;
  },
};
