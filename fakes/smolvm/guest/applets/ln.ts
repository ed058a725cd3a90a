/** `ln [-sfnbTv] [-S SUF] TARGET... LINK|DIR`: errors are `ln: LINK: REASON`. */
import { posix } from 'node:path';
import { complain, die, UsageFailure, type Applet } from './applet.ts';
import { abs, errno, tryStat } from './files.ts';
import { getopt } from './getopt.ts';

export const ln: Applet = {
  source: 'coreutils/ln.c',
  usage: '[-sfnbtv] [-S SUF] TARGET... LINK|DIR',
  summary: 'Create a link LINK or DIR/TARGET to the specified TARGET(s)',
  main(p) {
    const o = getopt(p, p.argv.slice(1), { short: 'sfnbS:vT' });
    const targets = [...o.operands];
    if (targets.length === 0) throw new UsageFailure();
    if (o.has('T') && targets.length > 2) die(p, '-T accepts 2 args max');
    // `ln PATH/TO/FILE` links FILE here.
    const last = targets.length === 1 ? posix.basename((targets[0] as string).replace(/\/+$/, '')) : (targets.pop() as string);
    const vol = p.fs.vol;
    let status = 0;
    for (const target of targets) {
      let link = last;
      if (tryStat(p, last, !(o.has('n') || o.has('T')))?.isDirectory()) {
        if (o.has('T')) die(p, `'${last}' is a directory`);
        link = posix.join(last, posix.basename(target.replace(/\/+$/, '')));
      }
      if (!o.has('s') && !tryStat(p, target) && !tryStat(p, target, false)?.isSymbolicLink()) {
        complain(p, `${target}: No such file or directory`);
        status = 1;
        continue;
      }
      if (o.has('b')) {
        try {
          vol.renameSync(abs(p, link), abs(p, `${link}${o.value('S') ?? '~'}`));
        } catch {
          // nothing to back up
        }
      } else if (o.has('f')) {
        try {
          vol.unlinkSync(abs(p, link));
        } catch {
          // nothing to replace
        }
      }
      if (o.has('v')) p.stdout.write(`'${link}' -> '${target}'\n`);
      try {
        if (o.has('s')) vol.symlinkSync(target, abs(p, link));
        else vol.linkSync(abs(p, target), abs(p, link));
      } catch (error) {
        complain(p, `${link}: ${errno(error)}`);
        status = 1;
      }
    }
    return status;
  },
};
