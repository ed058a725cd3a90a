/** `mkdir [-m MODE] [-p] DIRECTORY...` (libbb/make_directory.c for -p). */
import { complain, UsageFailure, type Applet } from './applet.ts';
import { abs, errno, fsError, stat } from './files.ts';
import { getopt } from './getopt.ts';
import { applyMode } from './modes.ts';

export const mkdir: Applet = {
  source: 'coreutils/mkdir.c',
  usage: '[-m MODE] [-p] DIRECTORY...',
  summary: 'Create DIRECTORY',
  main(p) {
    const o = getopt(p, p.argv.slice(1), { short: 'm:pv', long: { mode: 'm:', parents: 'p', verbose: 'v' } });
    if (o.operands.length === 0) throw new UsageFailure();
    const raw = o.value('m');
    const mode = raw === undefined ? 0o755 : applyMode(raw, 0o777, true);
    if (mode === undefined) return complain(p, `invalid mode '${raw}'`), 1;
    let status = 0;
    for (const dir of o.operands) {
      const target = abs(p, dir);
      try {
        if (o.has('p')) {
          let current = '';
          for (const part of target.split('/').filter(Boolean)) {
            current += `/${part}`;
            if (p.fs.vol.existsSync(current)) {
              if (!stat(p, current).isDirectory()) throw fsError('ENOTDIR');
              continue;
            }
            p.fs.vol.mkdirSync(current);
            p.fs.vol.chmodSync(current, current === target ? mode : 0o755);
            if (o.has('v')) p.stdout.write(`mkdir: created directory '${current}'\n`);
          }
        } else {
          p.fs.vol.mkdirSync(target);
          p.fs.vol.chmodSync(target, mode);
          if (o.has('v')) p.stdout.write(`mkdir: created directory '${dir}'\n`);
        }
      } catch (error) {
        complain(p, `can't create directory '${dir}': ${errno(error)}`);
        status = 1;
      }
    }
    return status;
  },
};
