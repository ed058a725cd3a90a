/** `md5sum`, `sha1sum`, `sha256sum`, `sha512sum [-c[sw]] [FILE]...`: one source, four applets. */
import { createHash } from 'node:crypto';
import { complain, type Applet, type AppletProcess } from './applet.ts';
import { errno, lines, readInput } from './files.ts';
import { getopt } from './getopt.ts';

function sum(algorithm: 'md5' | 'sha1' | 'sha256' | 'sha512', label: string): Applet {
  return {
    source: 'coreutils/md5_sha1_sum.c',
    usage: '[-c[sw]] [FILE]...',
    summary: `Print or check ${label} checksums`,
    main(p) {
      const o = getopt(p, p.argv.slice(1), { short: 'bcstw' });
      const files = o.operands.length ? o.operands : ['-'];
      const digest = (file: string): string => createHash(algorithm).update(readInput(p, file)).digest('hex');
      if (o.has('c')) return check(p, files, digest, o.has('s'), o.has('w'));
      let status = 0;
      for (const file of files) {
        try {
          p.stdout.write(`${digest(file)}  ${file}\n`);
        } catch (error) {
          complain(p, `can't open '${file}': ${errno(error)}`);
          status = 1;
        }
      }
      return status;
    },
  };
}

/** `-c`: verify `HASH  FILE` lines, per list: `FILE: OK` / `FILE: FAILED`, then a warning. */
function check(p: AppletProcess, lists: string[], digest: (file: string) => string, silent: boolean, warn: boolean): number {
  let status = 0;
  for (const list of lists) {
    let entries: string[];
    try {
      entries = lines(readInput(p, list));
    } catch (error) {
      complain(p, `can't open '${list}': ${errno(error)}`);
      return 1; // xfopen_stdin dies
    }
    let failed = 0;
    for (const entry of entries) {
      const space = entry.indexOf(' ');
      if (space === -1) {
        if (warn) complain(p, 'invalid format');
        failed++;
        continue;
      }
      let file = entry.slice(space + 1);
      if (file.startsWith(' ') || file.startsWith('*')) file = file.slice(1);
      let ok = false;
      try {
        ok = digest(file) === entry.slice(0, space);
      } catch (error) {
        complain(p, `can't open '${file}': ${errno(error)}`);
      }
      if (!ok) failed++;
      if (!silent) p.stdout.write(`${file}: ${ok ? 'OK' : 'FAILED'}\n`);
    }
    if (failed) status = 1;
    if (failed && !silent) complain(p, `WARNING: ${failed} of ${entries.length} computed checksums did NOT match`);
    if (entries.length === 0) {
      complain(p, `${list}: no checksum lines found`);
      status = 1;
    }
  }
  return status;
}

export const md5sum = sum('md5', 'MD5');
export const sha1sum = sum('sha1', 'SHA1');
export const sha256sum = sum('sha256', 'SHA256');
export const sha512sum = sum('sha512', 'SHA512');
