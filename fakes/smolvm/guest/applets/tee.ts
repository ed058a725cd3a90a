/** `tee [-ai] [FILE]...`: a file that cannot be opened is reported and skipped (exit 1). */
import { complain, type Applet } from './applet.ts';
import { errno, writeFile } from './files.ts';
import { getopt } from './getopt.ts';

export const tee: Applet = {
  source: 'coreutils/tee.c',
  usage: '[-ai] [FILE]...',
  summary: 'Copy stdin to each FILE, and also to stdout',
  main(p) {
    const o = getopt(p, p.argv.slice(1), { short: 'ia', long: { append: 'a', 'ignore-interrupts': 'i' } });
    const data = p.stdin;
    let status = 0;
    for (const file of o.operands) {
      if (file === '-') {
        p.stdout.write(data);
        continue;
      }
      try {
        writeFile(p, file, data, o.has('a'));
      } catch (error) {
        complain(p, `${file}: ${errno(error)}`);
        status = 1;
      }
    }
    p.stdout.write(data);
    return status;
  },
};
