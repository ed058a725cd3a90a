/** `which [-a] COMMAND...`: searches `$PATH` (a name with `/` is checked as is). */
import { UsageFailure, type Applet } from './applet.ts';
import { getopt } from './getopt.ts';

export const which: Applet = {
  source: 'debianutils/which.c',
  usage: '[-a] COMMAND...',
  summary: 'Locate COMMAND',
  main(p) {
    const o = getopt(p, p.argv.slice(1), { short: 'a' });
    if (o.operands.length === 0) throw new UsageFailure();
    let status = 0;
    for (const name of o.operands) {
      const found = p.whichAll(name, p.env.PATH);
      if (found.length === 0) status = 1;
      for (const path of o.has('a') ? found : found.slice(0, 1)) p.stdout.write(`${path}\n`);
    }
    return status;
  },
};
