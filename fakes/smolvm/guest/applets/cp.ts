/**
 * `cp [-arPLHpfnlsTuv] SOURCE DEST` / `cp SOURCE... DIRECTORY` / `-t DIRECTORY`, following
 * libbb/copy_file.c: a new file gets the source's mode less the umask (all of it with -p, plus
 * owner and mtime); Alpine builds NON_POSIX_CP, so an existing file is unlinked and recreated.
 */
import { posix } from 'node:path';
import { complain, die, UsageFailure, type Applet, type AppletProcess } from './applet.ts';
import { abs, codeOf, errno, tryStat, type Stat } from './files.ts';
import { getopt } from './getopt.ts';

const UMASK = 0o022;

interface Flags {
  readonly recursive: boolean;
  readonly deref: boolean;
  readonly preserve: boolean;
  readonly noClobber: boolean;
  readonly update: boolean;
  readonly symlink: boolean;
  readonly hardlink: boolean;
  readonly verbose: boolean;
}

export const cp: Applet = {
  source: 'coreutils/cp.c',
  usage: '[-arPLHpfinlsTu] SOURCE DEST\nor: cp [-arPLHpfinlsu] SOURCE... { -t DIRECTORY | DIRECTORY }',
  summary: 'Copy SOURCEs to DEST',
  main(p) {
    const o = getopt(p, p.argv.slice(1), {
      short: 'pdRfinlsLHarPvuTt:',
      long: {
        archive: 'a',
        force: 'f',
        interactive: 'i',
        'no-clobber': 'n',
        link: 'l',
        dereference: 'L',
        'no-dereference': 'P',
        recursive: 'R',
        'symbolic-link': 's',
        'no-target-directory': 'T',
        'target-directory': 't:',
        verbose: 'v',
        update: 'u',
      },
      unmodelled: 'i',
    });
    const recursive = o.has('R') || o.has('r') || o.has('a');
    const flags: Flags = {
      recursive,
      // cp dereferences by default; -R, -d, -P and -a do not, unless -L.
      deref: o.has('L') || !(recursive || o.has('d') || o.has('P')),
      preserve: o.has('p') || o.has('a'),
      noClobber: o.has('n'),
      update: o.has('u'),
      symlink: o.has('s'),
      hardlink: o.has('l'),
      verbose: o.has('v'),
    };
    const sources = [...o.operands];
    let dir = o.value('t');
    if (dir === undefined) {
      const last = sources.pop();
      if (last === undefined || sources.length === 0) throw new UsageFailure();
      if (sources.length > 1 && o.has('T')) throw new UsageFailure();
      const destIsDir = tryStat(p, last)?.isDirectory() ?? false;
      if (sources.length === 1 && (!destIsDir || o.has('T'))) {
        if (o.has('T') && destIsDir && !tryStat(p, sources[0] as string, flags.deref)?.isDirectory()) die(p, `'${last}' is a directory`);
        return copy(p, sources[0] as string, last, flags, o.has('H')) ? 0 : 1;
      }
      dir = last;
    }
    let ok = true;
    for (const src of sources) {
      ok = copy(p, src, posix.join(dir, posix.basename(src.replace(/\/+$/, ''))), flags, o.has('H')) && ok;
    }
    return ok ? 0 : 1;
  },
};

/** `copy_file`: false after reporting why the copy was not made. */
function copy(p: AppletProcess, source: string, dest: string, flags: Flags, followTop: boolean): boolean {
  const vol = p.fs.vol;
  const from = abs(p, source);
  const to = abs(p, dest);
  let st: Stat;
  try {
    st = (flags.deref || followTop ? vol.statSync(from) : vol.lstatSync(from)) as Stat;
  } catch (error) {
    if (flags.symlink || flags.hardlink) return link(p, source, dest, flags);
    complain(p, `can't stat '${source}': ${errno(error)}`);
    return false;
  }
  const existing = tryStat(p, dest, false);
  if (existing) {
    if (existing.ino === st.ino) {
      complain(p, `'${source}' and '${dest}' are the same file`);
      return false;
    }
    if (flags.noClobber) return true;
  }
  if (st.isDirectory()) {
    if (!flags.recursive) {
      complain(p, `omitting directory '${source}'`);
      return false;
    }
    if (existing && !existing.isDirectory()) {
      complain(p, `target '${dest}' is not a directory`);
      return false;
    }
    if (!existing) {
      try {
        vol.mkdirSync(to);
        vol.chmodSync(to, (flags.preserve ? Number(st.mode) : Number(st.mode) & ~UMASK) | 0o700);
      } catch (error) {
        complain(p, `can't create directory '${dest}': ${errno(error)}`);
        return false;
      }
    }
    let ok = true;
    for (const name of vol.readdirSync(from) as string[]) {
      ok = copy(p, posix.join(source, name), posix.join(dest, name), flags, false) && ok;
    }
    if (!existing) vol.chmodSync(to, Number(st.mode) & (flags.preserve ? 0o7777 : 0o7777 & ~UMASK));
    preserve(p, to, st, flags);
    return ok;
  }
  if (existing && flags.update && Number(st.mtimeMs) <= Number(existing.mtimeMs)) return true;
  if (flags.symlink || flags.hardlink) return link(p, source, dest, flags);
  try {
    if (st.isSymbolicLink()) {
      if (existing) vol.unlinkSync(to);
      vol.symlinkSync(String(vol.readlinkSync(from)), to);
    } else {
      const data = vol.readFileSync(from) as Uint8Array;
      if (existing) {
        if (existing.isDirectory()) throw Object.assign(new Error(), { code: 'EISDIR' });
        vol.unlinkSync(to);
      }
      vol.writeFileSync(to, data, { flag: 'wx' });
      vol.chmodSync(to, flags.preserve ? Number(st.mode) & 0o7777 : Number(st.mode) & 0o777 & ~UMASK);
      preserve(p, to, st, flags);
    }
  } catch (error) {
    complain(p, `can't create '${dest}': ${errno(error)}`);
    return false;
  }
  if (flags.verbose) p.stdout.write(`'${source}' -> '${dest}'\n`);
  return true;
}

function preserve(p: AppletProcess, to: string, st: Stat, flags: Flags): void {
  if (!flags.preserve) return;
  const seconds = Number(st.mtimeMs) / 1000;
  p.fs.vol.utimesSync(to, seconds, seconds);
  try {
    p.fs.vol.chownSync(to, Number(st.uid), Number(st.gid));
  } catch (error) {
    complain(p, `can't preserve ownership of '${to}': ${errno(error)}`);
  }
}

/** `cp -s` / `cp -l`: a (sym)link instead of a copy; an existing destination is replaced. */
function link(p: AppletProcess, source: string, dest: string, flags: Flags): boolean {
  const vol = p.fs.vol;
  const make = (): void => (flags.symlink ? vol.symlinkSync(source, abs(p, dest)) : vol.linkSync(abs(p, source), abs(p, dest)));
  try {
    make();
  } catch (error) {
    if (codeOf(error) !== 'EEXIST') {
      complain(p, `can't create '${dest}': ${errno(error)}`);
      return false;
    }
    try {
      vol.unlinkSync(abs(p, dest));
      make();
    } catch (again) {
      complain(p, `can't create link '${dest}': ${errno(again)}`);
      return false;
    }
  }
  return true;
}
