/**
 * `tar -x|-t [-zvmo] [-f FILE] [-C DIR]`, whole archives only, from a file or stdin
 * (archival/tar.c). Members are read by tar-headers.ts and extracted as
 * archival/libarchive/data_extract_all.c does: leading directories made, an old non-directory
 * unlinked, owners restored as root (unless -o), modes as root, mtimes unless -m; links whose
 * target is absolute or has `..`, and all hard links, wait until the end
 * (unsafe_symlink_target.c).
 */
import { posix } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { die, notModelled, UsageFailure, type Applet, type AppletProcess } from './applet.ts';
import { codeOf, errno, readInput, tryStat } from './files.ts';
import { getopt } from './getopt.ts';
import { members, TarDie, type Member } from './tar-headers.ts';

interface Flags {
  readonly owner: boolean;
  readonly perms: boolean;
  readonly date: boolean;
  readonly unlinkOld: boolean;
  /** --overwrite: O_TRUNC instead of O_EXCL. */
  readonly truncate: boolean;
}

type Link = { readonly hard: boolean; readonly name: string; readonly target: string };

/** header_verbose_list: `MODE USER/GROUP SIZE DATE TIME NAME[ -> TARGET]`, in UTC. */
function verboseLine(m: Member): string {
  const kind = { file: '-', hardlink: '-', symlink: 'l', dir: 'd', node: '?' }[m.type];
  const rwx = (shift: number, special: number, c: string): string => {
    const bits = (m.mode >> shift) & 7;
    const x = bits & 1 ? 'x' : '-';
    const s = m.mode & special ? (bits & 1 ? c : c.toUpperCase()) : x;
    return `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${s}`;
  };
  const mode = kind + rwx(6, 0o4000, 's') + rwx(3, 0o2000, 's') + rwx(0, 0o1000, 't');
  const when = new Date(m.mtime * 1000).toISOString().replace('T', ' ').slice(0, 19);
  const link = m.linkTarget === undefined ? '' : ` -> ${m.linkTarget}`;
  return `${mode} ${m.uname ?? m.uid}/${m.gname ?? m.gid} ${String(m.size).padStart(9)} ${when} ${m.name}${link}\n`;
}

/** `bb_make_directory(dirname, -1, FILEUTILS_RECUR)`: errors said, not fatal. */
function leadingDirs(p: AppletProcess, path: string): void {
  let current = '';
  for (const part of path.split('/').slice(0, -1)) {
    current += `${part}/`;
    if (part === '' || part === '.') continue;
    const st = tryStat(p, current);
    if (st?.isDirectory()) continue;
    try {
      if (st) throw Object.assign(new Error(), { code: 'ENOTDIR' });
      p.fs.vol.mkdirSync(posix.resolve(p.cwd, current));
      p.fs.vol.chmodSync(posix.resolve(p.cwd, current), 0o755);
    } catch (error) {
      p.stderr.write(`tar: can't create directory '${current}': ${errno(error)}\n`);
      return;
    }
  }
}

function extract(p: AppletProcess, m: Member, flags: Flags, links: Link[]): void {
  const full = posix.resolve(p.cwd, m.name);
  const hardTarget = (m.type === 'file' || m.type === 'hardlink') && m.size === 0 ? m.linkTarget : undefined;
  if (m.type === 'node') notModelled(p, 'extracting device and fifo members');
  leadingDirs(p, m.name);
  if (flags.unlinkOld && m.type !== 'dir') {
    if (hardTarget === m.name) return;
    try {
      p.fs.vol.unlinkSync(full);
    } catch (error) {
      // memfs says EPERM for a directory where Linux says EISDIR.
      const code = tryStat(p, full, false)?.isDirectory() ? 'EISDIR' : codeOf(error);
      if (code !== 'ENOENT') die(p, `can't remove old file ${m.name}: ${errno(Object.assign(new Error(), { code }))}`);
    }
  }
  if (hardTarget !== undefined) return void links.push({ hard: true, name: m.name, target: hardTarget });
  if (m.type === 'symlink') {
    const target = m.linkTarget ?? '';
    if (target.startsWith('/') || target.includes('..')) return void links.push({ hard: false, name: m.name, target });
    try {
      p.fs.vol.symlinkSync(target, full);
    } catch (error) {
      die(p, `can't create symlink '${m.name}' to '${target}': ${errno(error)}`);
    }
    return;
  }
  // mkdir and a creating open apply the umask: the 022 the fake's processes run under.
  if (m.type === 'dir') {
    try {
      p.fs.vol.mkdirSync(full);
      p.fs.vol.chmodSync(full, m.mode & 0o1777 & ~0o022);
    } catch (error) {
      if (codeOf(error) !== 'EEXIST') p.stderr.write(`tar: can't make dir ${m.name}: ${errno(error)}\n`);
    }
  } else {
    const fresh = !tryStat(p, full, false);
    try {
      p.fs.vol.writeFileSync(full, m.data, { flag: flags.truncate ? 'w' : 'wx' });
    } catch (error) {
      die(p, `can't open '${m.name}': ${errno(error)}`);
    }
    if (fresh) p.fs.vol.chmodSync(full, m.mode & ~0o022);
  }
  if (!tryStat(p, full)) return;
  if (flags.owner) p.fs.vol.chownSync(full, userId(p, m.uname, m.uid, 'passwd'), userId(p, m.gname, m.gid, 'group'));
  if (flags.perms) p.fs.vol.chmodSync(full, m.mode);
  if (flags.date) p.fs.vol.utimesSync(full, m.mtime, m.mtime);
}

/** FEATURE_TAR_UNAME_GNAME: a name the guest knows wins over the number. */
function userId(p: AppletProcess, name: string | undefined, id: number, db: 'passwd' | 'group'): number {
  if (name === undefined) return id;
  const text = p.fs.vol.existsSync(`/etc/${db}`) ? String(p.fs.vol.readFileSync(`/etc/${db}`)) : '';
  const line = text.split('\n').find((l) => l.split(':')[0] === name);
  const found = Number(line?.split(':')[2]);
  return line !== undefined && Number.isInteger(found) ? found : id;
}

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
        'no-same-permissions': 'no-same-permissions',
        'same-permissions': 'p',
        'keep-old': 'k',
        'numeric-owner': 'numeric-owner',
        touch: 'm',
        overwrite: 'overwrite',
      },
      unmodelled: 'Ochj',
    });
    if (o.operands.length) notModelled(p, 'extracting named members');
    const listing = o.has('t');
    if (listing === o.has('x')) throw new UsageFailure(); // exactly one of -x, -t (-c is not modelled)
    const verbosity = (listing ? 1 : 0) + o.count('v');
    const root = p.user.uid === 0;
    const flags: Flags = {
      owner: root && !o.has('o') && !o.has('no-same-owner'),
      perms: root && !o.has('no-same-permissions'),
      date: !o.has('m'),
      unlinkOld: !o.has('k') && !o.has('overwrite'),
      truncate: o.has('overwrite'),
    };
    const numeric = o.has('numeric-owner');
    const file = o.value('f') ?? '-';
    let archive: Uint8Array;
    try {
      archive = readInput(p, file);
    } catch (error) {
      return die(p, `can't open '${file}': ${errno(error)}`);
    }
    const dir = o.value('C');
    if (dir !== undefined) {
      const st = tryStat(p, dir);
      if (!st?.isDirectory()) die(p, `can't change directory to '${dir}': ${st ? 'Not a directory' : 'No such file or directory'}`);
      p = Object.assign(Object.create(p) as AppletProcess, { cwd: posix.resolve(p.cwd, dir) });
    }
    if (o.has('z')) {
      try {
        archive = new Uint8Array(gunzipSync(archive));
      } catch {
        // The unpacking child says so and dies; tar then reads an empty stream.
        p.stderr.write(archive[0] === 0x1f && archive[1] === 0x8b ? 'tar: corrupted data\n' : 'tar: invalid magic\n');
        archive = new Uint8Array();
      }
    }
    const warn = (message: string): void => void p.stderr.write(`tar: ${message}\n`);
    const links: Link[] = [];
    const stream = members(archive, warn);
    try {
      for (let next = stream.next(); ; next = stream.next()) {
        if (next.done) {
          if (!next.value.sawHeader) return 1;
          break;
        }
        const m = numeric ? { ...next.value, uname: undefined, gname: undefined } : next.value;
        if (verbosity === 1) p.stdout.write(`${m.name}\n`);
        else if (verbosity > 1) p.stdout.write(verboseLine(m));
        if (!listing) extract(p, { ...m, name: m.name.replace(/\/$/, '') }, flags, links);
      }
    } catch (error) {
      if (error instanceof TarDie) die(p, error.message);
      throw error;
    }
    // create_links_from_list
    for (const link of links) {
      try {
        if (link.hard) p.fs.vol.linkSync(posix.resolve(p.cwd, link.target), posix.resolve(p.cwd, link.name));
        else p.fs.vol.symlinkSync(link.target, posix.resolve(p.cwd, link.name));
      } catch {
        die(p, `can't create ${link.hard ? 'hard' : 'sym'}link '${link.name}' to '${link.target}'`);
      }
    }
    return 0;
  },
};
