/** `cat [-nbu] [FILE]...`; `-` or no operand is stdin. */
import { complain, type Applet } from './applet.ts';
import { errno, readInput } from './files.ts';
import { getopt } from './getopt.ts';

export const cat: Applet = {
  source: 'coreutils/cat.c',
  usage: '[-nbvteA] [FILE]...',
  summary: 'Print FILEs to stdout',
  main(p) {
    const o = getopt(p, p.argv.slice(1), { short: 'etvAnbu', unmodelled: 'etvA' });
    let status = 0;
    let line = 1;
    for (const file of o.operands.length ? o.operands : ['-']) {
      let data: Uint8Array;
      try {
        data = readInput(p, file);
      } catch (error) {
        // `open_or_warn_stdin`, then a read of a directory fails with EISDIR.
        complain(p, (error as { code?: string }).code === 'EISDIR' ? 'read error: Is a directory' : `can't open '${file}': ${errno(error)}`);
        status = 1;
        continue;
      }
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
    return status;
  },
};
