/** `rm [-irf] FILE...` (libbb/remove_file.c). There is no terminal, so -i is not modelled. */
import { posix } from 'node:path';
import { complain, UsageFailure, type Applet, type AppletProcess } from './applet.ts';
import { abs, codeOf, errno } from './files.ts';
import { getopt } from './getopt.ts';

export const rm: Applet = {
  source: 'coreutils/rm.c',
  usage: '[-irf] FILE...',
  summary: 'Remove (unlink) FILEs',
  main(p) {
    const o = getopt(p, p.argv.slice(1), { short: 'fiRrv', unmodelled: 'i' });
    const flags = { force: o.has('f'), recursive: o.has('r') || o.has('R'), verbose: o.has('v') };
    if (o.operands.length === 0) {
      if (flags.force) return 0;
      throw new UsageFailure();
    }
    let status = 0;
    for (const file of o.operands) {
      const base = posix.basename(file.replace(/\/+$/, ''));
      if (base === '.' || base === '..') {
        complain(p, "can't remove '.' or '..'");
        status = 1;
      } else if (!removeFile(p, file, flags)) status = 1;
    }
    return status;
  },
};

/** `remove_file`: false after reporting a failure. */
export function removeFile(p: AppletProcess, path: string, flags: { force: boolean; recursive: boolean; verbose: boolean }): boolean {
  const full = abs(p, path);
  let isDir: boolean;
  try {
    isDir = p.fs.vol.lstatSync(full).isDirectory();
  } catch (error) {
    if (codeOf(error) !== 'ENOENT') {
      complain(p, `can't stat '${path}': ${errno(error)}`);
      return false;
    }
    if (flags.force) return true;
    complain(p, `can't remove '${path}': ${errno(error)}`);
    return false;
  }
  if (isDir) {
    if (!flags.recursive) {
      complain(p, `'${path}' is a directory`);
      return false;
    }
    let ok = true;
    let names: string[];
    try {
      names = p.fs.vol.readdirSync(full) as string[];
    } catch (error) {
      complain(p, `can't open '${path}': ${errno(error)}`);
      return false;
    }
    for (const name of names) if (!removeFile(p, posix.join(path, name), flags)) ok = false;
    if (!ok) return false;
    try {
      p.fs.vol.rmdirSync(full);
    } catch (error) {
      complain(p, `can't remove '${path}': ${errno(error)}`);
      return false;
    }
    if (flags.verbose) p.stdout.write(`removed directory: '${path}'\n`);
    return true;
  }
  try {
    p.fs.vol.unlinkSync(full);
  } catch (error) {
    complain(p, `can't remove '${path}': ${errno(error)}`);
    return false;
  }
  if (flags.verbose) p.stdout.write(`removed '${path}'\n`);
  return true;
}
