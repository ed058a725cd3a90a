/** `mv [-fnT] SOURCE DEST` / `mv SOURCE... DIRECTORY` / `-t DIRECTORY`. */
import { posix } from 'node:path';
import { complain, die, UsageFailure, type Applet } from './applet.ts';
import { abs, errno, tryStat } from './files.ts';
import { getopt } from './getopt.ts';

export const mv: Applet = {
  source: 'coreutils/mv.c',
  usage: '[-finT] SOURCE DEST\nor: mv [-fin] SOURCE... { -t DIRECTORY | DIRECTORY }',
  summary: 'Rename SOURCE to DEST, or move SOURCEs to DIRECTORY',
  main(p) {
    const o = getopt(p, p.argv.slice(1), {
      short: 'finTt:v',
      long: { interactive: 'i', force: 'f', 'no-clobber': 'n', 'no-target-directory': 'T', 'target-directory': 't:', verbose: 'v' },
      unmodelled: 'i',
    });
    const sources = [...o.operands];
    let dir = o.value('t');
    if (dir === undefined) {
      const last = sources.pop();
      if (last === undefined || sources.length === 0) throw new UsageFailure();
      if (sources.length > 1 && o.has('T')) throw new UsageFailure();
      const st = tryStat(p, last);
      if (sources.length === 1 && !st?.isDirectory()) return move(sources[0] as string, last);
      if (sources.length === 1 && o.has('T')) {
        if (!tryStat(p, sources[0] as string)?.isDirectory()) die(p, `'${last}' is a directory`);
        return move(sources[0] as string, last);
      }
      dir = last;
    }
    let status = 0;
    for (const src of sources) status |= move(src, posix.join(dir, posix.basename(src.replace(/\/+$/, ''))));
    return status;

    function move(src: string, dest: string): number {
      if (o.has('n') && tryStat(p, dest, false)) return 0;
      try {
        p.fs.vol.renameSync(abs(p, src), abs(p, dest));
      } catch (error) {
        complain(p, `can't rename '${src}': ${errno(error)}`);
        return 1;
      }
      if (o.has('v')) p.stdout.write(`'${src}' -> '${dest}'\n`);
      return 0;
    }
  },
};
