/** `chmod [-R] MODE[,MODE]... FILE...`: only the owner or root may change a mode. */
import { complain, die, UsageFailure, type Applet } from './applet.ts';
import { abs, errno, fsError, stat, walk } from './files.ts';
import { getopt } from './getopt.ts';
import { applyMode } from './modes.ts';

export const chmod: Applet = {
  source: 'coreutils/chmod.c',
  usage: '[-Rcvf] MODE[,MODE]... FILE...',
  summary: 'MODE is octal number (bit pattern sstrwxrwxrwx) or [ugoa]{+|-|=}[rwxXst]',
  main(p) {
    // `chmod -x f`: a mode that looks like an option is kept as the mode (chmod.c scans for it).
    const args = p.argv.slice(1).map((a) => (/^-[rwxXst]+$/.test(a) ? `\0${a}` : a));
    const o = getopt(p, args, { short: 'Rcvf', unmodelled: 'cv' });
    const [rawMode, ...files] = o.operands.map((a) => a.replace(/^\0/, ''));
    if (rawMode === undefined || files.length === 0) throw new UsageFailure();
    if (applyMode(rawMode, 0, false) === undefined) die(p, `invalid mode '${rawMode}'`);
    let status = 0;
    for (const file of files) {
      let current = file;
      try {
        walk(p, file, o.has('R'), (path) => {
          current = path;
          const st = stat(p, path);
          if (p.user.uid !== 0 && Number(st.uid) !== p.user.uid) throw fsError('EPERM');
          p.fs.vol.chmodSync(abs(p, path), applyMode(rawMode, Number(st.mode), st.isDirectory()) ?? 0);
        });
      } catch (error) {
        if (!o.has('f')) complain(p, `${current}: ${errno(error)}`);
        status = 1;
      }
    }
    return status;
  },
};
