/**
 * `realpath FILE...` and `readlink [-fnv] FILE` share libbb/xreadlink.c: symlinks resolved
 * through the guest fs; like coreutils, the last component may be missing when its parent exists.
 */
import { posix } from 'node:path';
import { complain, UsageFailure, type Applet, type AppletProcess } from './applet.ts';
import { abs, codeOf, errno } from './files.ts';
import { getopt } from './getopt.ts';

/** `xmalloc_realpath_coreutils`: the canonical path, or the errno code why there is none. */
export function canonical(p: AppletProcess, path: string): { path: string } | { code: string } {
  const vol = p.fs.vol;
  try {
    return { path: String(vol.realpathSync(abs(p, path))) };
  } catch (error) {
    if (codeOf(error) !== 'ENOENT') return { code: codeOf(error) ?? 'EINVAL' };
  }
  try {
    const target = String(vol.readlinkSync(abs(p, path)));
    return canonical(p, target.startsWith('/') ? target : posix.join(p.cwd, target));
  } catch {
    // not a (dangling) symlink
  }
  const trimmed = path.replace(/^\/\/+/, '/').replace(/(.)\/+$/, '$1');
  const slash = trimmed.lastIndexOf('/');
  if (slash === 0) return { path: trimmed };
  if (slash === -1) return { code: 'ENOENT' };
  try {
    const parent = String(vol.realpathSync(abs(p, trimmed.slice(0, slash))));
    return { path: posix.join(parent, trimmed.slice(slash + 1)) };
  } catch (error) {
    return { code: codeOf(error) ?? 'ENOENT' };
  }
}

export const realpath: Applet = {
  source: 'coreutils/realpath.c',
  usage: 'FILE...',
  summary: 'Print absolute pathnames of FILEs',
  main(p) {
    const files = p.argv.slice(1);
    if (files.length === 0) throw new UsageFailure();
    let status = 0;
    for (const file of files) {
      const r = canonical(p, file);
      if ('path' in r) p.stdout.write(`${r.path}\n`);
      else {
        complain(p, `${file}: ${errno(Object.assign(new Error(), { code: r.code }))}`);
        status = 1;
      }
    }
    return status;
  },
};

export const readlink: Applet = {
  source: 'coreutils/readlink.c',
  usage: '[-fnv] FILE',
  summary: 'Display the value of a symlink',
  main(p) {
    const o = getopt(p, p.argv.slice(1), { short: 'fnvsq' });
    const [file, extra] = o.operands;
    if (file === undefined || extra !== undefined) throw new UsageFailure();
    let out: string;
    if (o.has('f')) {
      const r = canonical(p, file);
      if (!('path' in r)) return 1; // coreutils compat: silent without -v
      out = r.path;
    } else {
      try {
        out = String(p.fs.vol.readlinkSync(abs(p, file)));
      } catch (error) {
        if (o.has('v')) complain(p, `${file}: cannot read link: ${codeOf(error) === 'EINVAL' ? 'not a symlink' : errno(error)}`);
        return 1;
      }
    }
    p.stdout.write(o.has('n') ? out : `${out}\n`);
    return 0;
  },
};
