/**
 * `tar -x|-t [-zvo] [-f FILE] [-C DIR]`: whole archives only, from a file or stdin. As root,
 * owners and modes come from the archive; otherwise the umask applies and the user owns.
 */
import { posix } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { unpackTar } from '../../../../src/archive/tar.ts';
import { notModelled, UsageFailure, type Applet } from './applet.ts';
import { abs, errno, lstat, readInput, stat } from './files.ts';
import { getopt } from './getopt.ts';

export const tar: Applet = {
  source: 'archival/tar.c',
  usage: 'c|x|t [-ZzJjahmvokO] [-f TARFILE] [-C DIR] [FILE]...',
  summary: 'Create, extract, or list files from a tar file',
  main(p) {
    // tar.c: a first word without `-` is a bundle of option letters (`tar xzf a.tgz`).
    const args = p.argv.slice(1);
    if (args[0] && !args[0].startsWith('-')) args[0] = `-${args[0]}`;
    const o = getopt(p, args, {
      short: 'txC:f:Oopvkchjzam',
      long: {
        directory: 'C:',
        file: 'f:',
        'no-same-owner': 'no-same-owner',
        'same-owner': 'same-owner',
        'no-same-permissions': 'perms',
        'same-permissions': 'perms',
      },
      unmodelled: 'Okchj',
    });
    if (o.operands.length) notModelled(p, 'extracting named members');
    const modes = new Set(['x', 't'].filter((m) => o.has(m)));
    const file = o.value('f');
    const dir = o.value('C');
    const gzip = o.has('z');
    const sameOwner = p.user.uid === 0 && !o.has('o') && !o.has('no-same-owner');
    if (modes.size !== 1) throw new UsageFailure(); // exactly one of -x, -t (-c is not modelled)
    // xchdir(-C) comes before the archive is opened.
    const base = dir === undefined ? p.cwd : abs(p, dir);
    if (!p.fs.vol.existsSync(base) || !stat(p, base).isDirectory()) {
      p.stderr.write(`tar: can't change directory to '${dir}': ${p.fs.vol.existsSync(base) ? 'Not a directory' : 'No such file or directory'}\n`);
      return 1;
    }
    let archive: Uint8Array;
    try {
      archive = readInput(p, file ?? '-');
    } catch (error) {
      p.stderr.write(`tar: can't open '${file}': ${errno(error)}\n`);
      return 1;
    }
    let entries;
    if (archive.length > 0 && archive.length < 512) {
      p.stderr.write('tar: short read\n');
      return 1;
    }
    try {
      entries = unpackTar(gzip ? new Uint8Array(gunzipSync(archive)) : archive);
    } catch {
      p.stderr.write('tar: invalid tar magic\n');
      return 1;
    }
    if (modes.has('t')) {
      for (const e of entries) p.stdout.write(`${e.path}${e.type === 'directory' ? '/' : ''}\n`);
      return 0;
    }
    // As root, owners and modes come from the archive; otherwise the umask applies and the user owns.
    const modeOf = (mode: number): number => (p.user.uid === 0 ? mode : mode & ~0o022);
    const ensureDir = (path: string): void => {
      if (p.fs.vol.existsSync(path)) return;
      ensureDir(posix.dirname(path));
      p.fs.vol.mkdirSync(path);
      p.fs.vol.chmodSync(path, 0o755);
    };
    const deferredDirs: Array<{ path: string; mode: number; uid: number; gid: number }> = [];
    try {
      for (const e of entries) {
        const target = posix.join(base, e.path);
        ensureDir(posix.dirname(target));
        if (e.type === 'directory') {
          ensureDir(target);
          deferredDirs.push({ path: target, mode: e.mode, uid: e.uid, gid: e.gid });
          continue;
        }
        if (p.fs.vol.existsSync(target)) {
          if (lstat(p, target).isDirectory()) throw Object.assign(new Error(), { code: 'EISDIR', path: e.path });
          p.fs.vol.unlinkSync(target);
        }
        p.fs.vol.writeFileSync(target, e.data ?? new Uint8Array());
        p.fs.vol.chmodSync(target, modeOf(e.mode));
        if (sameOwner) p.fs.vol.chownSync(target, e.uid, e.gid);
      }
      // Directory modes last, so a read-only directory does not block its own contents.
      for (const d of deferredDirs.reverse()) {
        p.fs.vol.chmodSync(d.path, modeOf(d.mode));
        if (sameOwner) p.fs.vol.chownSync(d.path, d.uid, d.gid);
      }
    } catch (error) {
      p.stderr.write(`tar: can't open '${(error as { path?: string }).path ?? ''}': ${errno(error)}\n`);
      return 1;
    }
    return 0;
  },
};
