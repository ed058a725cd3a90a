/** `rmdir [-p] DIRECTORY...`: errors match GNU's `rmdir: 'DIR': REASON`. */
import { posix } from 'node:path';
import { complain, UsageFailure, type Applet } from './applet.ts';
import { abs, codeOf, errno } from './files.ts';
import { getopt } from './getopt.ts';

export const rmdir: Applet = {
  source: 'coreutils/rmdir.c',
  usage: '[-p] DIRECTORY...',
  summary: 'Remove DIRECTORY if it is empty',
  main(p) {
    const o = getopt(p, p.argv.slice(1), {
      short: 'pv',
      long: { parents: 'p', 'ignore-fail-on-non-empty': 'ignore', verbose: 'v' },
    });
    if (o.operands.length === 0) throw new UsageFailure();
    let status = 0;
    for (const operand of o.operands) {
      let path = operand;
      for (;;) {
        if (o.has('v')) p.stdout.write(`rmdir: removing directory, '${path}'\n`);
        try {
          p.fs.vol.rmdirSync(abs(p, path));
        } catch (error) {
          if (o.has('ignore') && codeOf(error) === 'ENOTEMPTY') break;
          complain(p, `'${path}': ${errno(error)}`);
          status = 1;
          break;
        }
        if (!o.has('p')) break;
        path = posix.dirname(path);
        if (path === '.' || path === '/') break;
      }
    }
    return status;
  },
};
