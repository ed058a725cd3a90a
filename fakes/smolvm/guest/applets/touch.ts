/** `touch [-c] [-d DATE] [-r FILE] FILE...`: creates missing files 0644, else sets their times. */
import { complain, die, UsageFailure, type Applet } from './applet.ts';
import { abs, errno, stat } from './files.ts';
import { getopt } from './getopt.ts';
import { parseDate } from './dates.ts';

export const touch: Applet = {
  source: 'coreutils/touch.c',
  usage: '[-cham] [-d DATE] [-t DATE] [-r FILE] FILE...',
  summary: 'Update mtime of FILEs',
  main(p) {
    const o = getopt(p, p.argv.slice(1), {
      short: 'chd:t:r:am',
      long: { 'no-create': 'c', 'no-dereference': 'h', date: 'd:', reference: 'r:' },
      unmodelled: 't',
    });
    if (o.operands.length === 0) throw new UsageFailure();
    let seconds = p.clock() / 1000;
    const date = o.value('d');
    if (date !== undefined) {
      const ms = parseDate(date, p.clock());
      if (ms === undefined) die(p, `invalid date '${date}'`);
      seconds = ms / 1000;
    }
    const reference = o.value('r');
    if (reference !== undefined) {
      try {
        seconds = Number(stat(p, reference).mtimeMs) / 1000;
      } catch (error) {
        die(p, `${reference}: ${errno(error)}`);
      }
    }
    let status = 0;
    for (const file of o.operands) {
      const target = abs(p, file);
      try {
        if (!p.fs.vol.existsSync(target)) {
          if (o.has('c')) continue;
          p.fs.vol.writeFileSync(target, '');
          p.fs.vol.chmodSync(target, 0o644);
        }
        p.fs.vol.utimesSync(target, seconds, seconds);
      } catch (error) {
        complain(p, `${file}: ${errno(error)}`);
        status = 1;
      }
    }
    return status;
  },
};
