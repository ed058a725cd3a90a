/** `basename FILE [SUFFIX] | -a FILE... | -s SUFFIX FILE...`. */
import { posix } from 'node:path';
import { UsageFailure, type Applet } from './applet.ts';
import { getopt } from './getopt.ts';

export const basename: Applet = {
  source: 'coreutils/basename.c',
  usage: 'FILE [SUFFIX] | -a FILE... | -s SUFFIX FILE...',
  summary: 'Strip directory path and SUFFIX from FILE',
  main(p) {
    const o = getopt(p, p.argv.slice(1), { short: '+as:' });
    let names = o.operands;
    let suffix = o.value('s');
    if (!o.has('a') && suffix === undefined) {
      if (names.length < 1 || names.length > 2) throw new UsageFailure();
      suffix = names[1];
      names = names.slice(0, 1);
    }
    if (names.length === 0) throw new UsageFailure();
    for (const name of names) {
      let base = name === '' ? '' : posix.basename(name) || '/';
      if (suffix && base.endsWith(suffix) && base !== suffix) base = base.slice(0, -suffix.length);
      p.stdout.write(`${base}\n`);
    }
    return 0;
  },
};
