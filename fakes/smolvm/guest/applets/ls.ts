/**
 * `ls`: one name per line (stdout is never a terminal here), `-l` long lines with a `total`,
 * `-R` recursing with `DIR:` headers, `-a/-A`, `-d`, `-F/-p` markers, `-r/-S/-t` sorting,
 * `-n` numeric owners, `-L/-H` following links.
 */
import { posix } from 'node:path';
import { complain, type Applet, type AppletProcess } from './applet.ts';
import { abs, blocks512, errno, groupName, modeString, userName, type Stat } from './files.ts';
import { getopt, type Options } from './getopt.ts';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

interface Entry {
  readonly name: string;
  readonly path: string;
  readonly st: Stat;
}

export const ls: Applet = {
  source: 'coreutils/ls.c',
  usage: '[-1AaCxdLHRFplinshrSXvctu] [-w WIDTH] [FILE]...',
  summary: 'List directory contents',
  main(p) {
    const o = getopt(p, p.argv.slice(1), {
      short: '1AaCxdLHRFplinshrSXvctuw:',
      long: { 'full-time': 'full-time', 'group-directories-first': 'dirs-first', color: 'color::' },
      unmodelled: 'CxisXvcuw',
    });
    const long = o.has('l') || o.has('n');
    const follow = o.has('L');
    let status = 0;
    const statOf = (path: string, force: boolean, shown = path): Stat | undefined => {
      try {
        return (follow || force ? p.fs.vol.statSync(path) : p.fs.vol.lstatSync(path)) as Stat;
      } catch (error) {
        complain(p, `${shown}: ${errno(error)}`);
        status = 1;
        return undefined;
      }
    };
    const operands = o.operands.length ? o.operands : ['.'];
    const files: Entry[] = [];
    const dirs: Entry[] = [];
    for (const name of operands) {
      const st = statOf(abs(p, name), o.has('H'), name);
      if (!st) continue;
      (st.isDirectory() && !o.has('d') ? dirs : files).push({ name, path: abs(p, name), st });
    }
    const show = (entries: Entry[]): void => {
      for (const e of sorted(entries, o)) p.stdout.write(line(p, e, o));
    };
    show(files);
    // Operands are headed when there is more than one, or when recursing.
    const headed = operands.length > 1 || o.has('R');
    let first = files.length === 0;
    const list = (dir: Entry): void => {
      if (headed) p.stdout.write(`${first ? '' : '\n'}${dir.name}:\n`);
      first = false;
      let names: string[];
      try {
        names = p.fs.vol.readdirSync(dir.path) as string[];
      } catch (error) {
        complain(p, `can't open '${dir.name}': ${errno(error)}`);
        status = 1;
        return;
      }
      names = names.filter((n) => o.has('a') || o.has('A') || !n.startsWith('.'));
      const entries: Entry[] = [];
      if (o.has('a'))
        for (const n of ['.', '..']) entries.push({ name: n, path: posix.join(dir.path, n), st: p.fs.vol.statSync(posix.join(dir.path, n)) as Stat });
      for (const n of names) {
        const st = statOf(posix.join(dir.path, n), false, posix.join(dir.name, n));
        if (st) entries.push({ name: n, path: posix.join(dir.path, n), st });
      }
      if (long) p.stdout.write(`total ${entries.reduce((sum, e) => sum + blocks(e.st), 0)}\n`);
      const order = sorted(entries, o);
      for (const e of order) p.stdout.write(line(p, e, o));
      if (!o.has('R')) return;
      for (const e of order) {
        if (e.st.isDirectory() && e.name !== '.' && e.name !== '..') {
          list({ name: posix.join(dir.name, e.name), path: e.path, st: e.st });
        }
      }
    };
    for (const d of sorted(dirs, o)) list(d);
    return status;
  },
};

/** 1K blocks, as `ls -s` shows them. */
function blocks(st: Stat): number {
  return blocks512(st) / 2;
}

function sorted(entries: Entry[], o: Options): Entry[] {
  const by = o.has('S')
    ? (a: Entry, b: Entry) => Number(b.st.size) - Number(a.st.size) || cmp(a.name, b.name)
    : o.has('t')
      ? (a: Entry, b: Entry) => Number(b.st.mtimeMs) - Number(a.st.mtimeMs) || cmp(a.name, b.name)
      : (a: Entry, b: Entry) => cmp(a.name, b.name);
  const out = [...entries].sort(by);
  return o.has('r') ? out.reverse() : out;
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function line(p: AppletProcess, e: Entry, o: Options): string {
  const { st } = e;
  let marker = '';
  if (o.has('F') || o.has('p')) {
    if (st.isDirectory()) marker = '/';
    else if (o.has('F') && st.isSymbolicLink()) marker = '@';
    else if (o.has('F') && (Number(st.mode) & 0o111) !== 0 && st.isFile()) marker = '*';
  }
  if (!(o.has('l') || o.has('n'))) return `${e.name}${marker}\n`;
  const owner = (o.has('n') ? undefined : userName(p, Number(st.uid))) ?? String(st.uid);
  const group = (o.has('n') ? undefined : groupName(p, Number(st.gid))) ?? String(st.gid);
  const m = new Date(Number(st.mtimeMs));
  const date = `${MONTHS[m.getUTCMonth()]} ${String(m.getUTCDate()).padStart(2)} ${String(m.getUTCHours()).padStart(2, '0')}:${String(m.getUTCMinutes()).padStart(2, '0')}`;
  const link = st.isSymbolicLink() ? ` -> ${String(p.fs.vol.readlinkSync(e.path))}` : '';
  const size = o.has('h') ? human(Number(st.size)) : String(st.size);
  return `${modeString(st)} ${String(st.nlink).padStart(4)} ${owner.padEnd(8)} ${group.padEnd(8)} ${size.padStart(9)} ${date} ${e.name}${marker}${link}\n`;
}

/** libbb `make_human_readable_str` with one decimal below 10. */
function human(bytes: number): string {
  const units = ['', 'K', 'M', 'G', 'T'];
  let n = bytes;
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  if (u === 0) return String(bytes);
  return `${n < 10 ? n.toFixed(1) : Math.round(n)}${units[u]}`;
}
