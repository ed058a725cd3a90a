/**
 * The guest's userland: a handful of busybox applets over the machine's memfs volume, with
 * busybox's messages. Each acts as the process's user; memfs enforces the permissions.
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { unpackTar } from '../../../src/archive/tar.ts';
import { readGroups, readPasswd } from '../images.ts';
import { GUEST_ERRNO } from '../texts.ts';
import { nc } from './nc.ts';
import { sleep, toText, type GuestProcess, type GuestProgram } from './process.ts';

/** The stat fields the applets read (memfs returns number-typed Stats). */
interface Stat {
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly nlink: number;
  readonly mtimeMs: number;
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}
const lstatOf = (p: GuestProcess, path: string): Stat => p.fs.vol.lstatSync(path) as Stat;
const statOf = (p: GuestProcess, path: string): Stat => p.fs.vol.statSync(path) as Stat;

const errno = (error: unknown): string => {
  const code = (error as { code?: string }).code;
  return (code && GUEST_ERRNO[code]) ?? (error as Error).message;
};
const codeOf = (error: unknown): string | undefined => (error as { code?: string }).code;
const abs = (p: GuestProcess, path: string): string => posix.resolve(p.cwd, path);
const isDevNull = (path: string): boolean => path === '/dev/null';

/** Split leading `-abc` option clusters off argv; stops at `--` or the first operand. */
function options(args: readonly string[], withValue = ''): { opts: Map<string, string>; operands: string[] } {
  const opts = new Map<string, string>();
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('-') || a === '-') break;
    for (let j = 1; j < a.length; j++) {
      const c = a[j] as string;
      if (withValue.includes(c)) {
        const rest = a.slice(j + 1);
        opts.set(c, rest || (args[++i] ?? ''));
        break;
      }
      opts.set(c, '');
    }
  }
  return { opts, operands: args.slice(i) };
}

function readInput(p: GuestProcess, path: string): Uint8Array {
  if (path === '-') return p.stdin;
  if (isDevNull(abs(p, path))) return new Uint8Array();
  return p.fs.vol.readFileSync(abs(p, path)) as Uint8Array;
}

/** Access check with Linux rules (root bypass) for `test -r/-w/-x`. */
function canAccess(st: Stat, p: GuestProcess, bit: 4 | 2 | 1): boolean {
  const perm = Number(st.mode) & 0o777;
  if (p.user.uid === 0) return bit !== 1 || st.isDirectory() || (perm & 0o111) !== 0;
  if (Number(st.uid) === p.user.uid) return ((perm >> 6) & bit) !== 0;
  if (Number(st.gid) === p.user.gid) return ((perm >> 3) & bit) !== 0;
  return (perm & bit) !== 0;
}

function modeString(st: Stat): string {
  const mode = Number(st.mode);
  const type = st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : '-';
  const rwx = (shift: number, special: number, char: string): string => {
    const bits = (mode >> shift) & 7;
    const x = (bits & 1) !== 0;
    const s = (mode & special) !== 0;
    return `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${s ? (x ? char : char.toUpperCase()) : x ? 'x' : '-'}`;
  };
  return type + rwx(6, 0o4000, 's') + rwx(3, 0o2000, 's') + rwx(0, 0o1000, 't');
}

function userName(p: GuestProcess, uid: number): string | undefined {
  return readPasswd(p.fs).find((u) => u.uid === uid)?.name;
}
function groupName(p: GuestProcess, gid: number): string | undefined {
  return readGroups(p.fs).find((g) => g.gid === gid)?.name;
}

const cat: GuestProgram = (p) => {
  let status = 0;
  const files = p.argv.slice(1).filter((a) => a !== '-u');
  for (const file of files.length ? files : ['-']) {
    try {
      if (file !== '-' && statOf(p, abs(p, file)).isDirectory()) {
        p.stderr.write('cat: read error: Is a directory\n');
        status = 1;
        continue;
      }
      p.stdout.write(readInput(p, file));
    } catch (error) {
      p.stderr.write(`cat: can't open '${file}': ${errno(error)}\n`);
      status = 1;
    }
  }
  return status;
};

/** Output built from text (UTF-8) and raw bytes (an `\377` escape is one byte, not a character). */
class Bytes {
  readonly chunks: Uint8Array[] = [];
  text(t: string): void {
    if (t) this.chunks.push(new TextEncoder().encode(t));
  }
  byte(b: number): void {
    this.chunks.push(Uint8Array.of(b & 0xff));
  }
  concat(): Uint8Array {
    const out = new Uint8Array(this.chunks.reduce((n, c) => n + c.length, 0));
    let offset = 0;
    for (const c of this.chunks) {
      out.set(c, offset);
      offset += c.length;
    }
    return out;
  }
}

/** Backslash escapes of `echo -e`, `printf` formats and `%b`; returns true at `\c` (stop output). */
function unescapeInto(out: Bytes, text: string, octalNeedsZero: boolean): boolean {
  const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v', '\\': '\\', '"': '"' };
  let pending = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c !== '\\' || i === text.length - 1) {
      pending += c;
      continue;
    }
    const n = text[i + 1] as string;
    if (n in simple) {
      pending += simple[n];
      i++;
    } else if (n === 'c') {
      out.text(pending);
      return true;
    } else if (/[0-7]/.test(n) && (n === '0' || !octalNeedsZero)) {
      const digits = /^[0-7]{1,3}/.exec(text.slice(n === '0' && octalNeedsZero ? i + 2 : i + 1))?.[0] ?? '';
      out.text(pending);
      pending = '';
      out.byte(Number.parseInt(digits || '0', 8));
      i += (n === '0' && octalNeedsZero ? 1 : 0) + digits.length;
    } else pending += c;
  }
  out.text(pending);
  return false;
}

const echo: GuestProgram = (p) => {
  let args = p.argv.slice(1);
  let newline = true;
  let escapes = false;
  while (args[0] && /^-[neE]+$/.test(args[0])) {
    for (const c of args[0].slice(1)) {
      if (c === 'n') newline = false;
      else escapes = c === 'e';
    }
    args = args.slice(1);
  }
  const out = new Bytes();
  const text = args.join(' ');
  if (escapes && unescapeInto(out, text, true)) newline = false;
  else if (!escapes) out.text(text);
  if (newline) out.text('\n');
  p.stdout.write(out.concat());
  return 0;
};

const printf: GuestProgram = (p) => {
  const [format, ...args] = p.argv.slice(1);
  if (format === undefined) {
    p.stderr.write('printf: usage: printf FORMAT [ARGUMENT...]\n');
    return 1;
  }
  let status = 0;
  const number = (raw: string | undefined): number => {
    if (raw === undefined || raw === '') return 0;
    const n = /^[+-]?(0x[0-9a-f]+|\d+)$/i.test(raw) ? Number(raw) : Number.NaN;
    if (Number.isNaN(n)) {
      p.stderr.write(`printf: invalid number '${raw}'\n`);
      status = 1;
      return 0;
    }
    return n;
  };
  const out = new Bytes();
  const spec = /%([-+ 0#]*)(\d*)(?:\.(\d+))?([sdiuxXocb%])/g;
  let index = 0;
  let stop = false;
  do {
    const before = index;
    let last = 0;
    for (const m of format.matchAll(spec)) {
      stop = unescapeInto(out, format.slice(last, m.index), false);
      if (stop) break;
      last = m.index + m[0].length;
      const [, flags = '', width = '', precision, conv] = m;
      if (conv === '%') {
        out.text('%');
        continue;
      }
      const arg = args[index++];
      if (conv === 'b') {
        stop = unescapeInto(out, arg ?? '', true);
        if (stop) break;
        continue;
      }
      let s: string;
      if (conv === 's') s = precision !== undefined ? (arg ?? '').slice(0, Number(precision)) : (arg ?? '');
      else if (conv === 'c') s = (arg ?? '').slice(0, 1);
      else {
        const n = Math.trunc(number(arg));
        s = conv === 'x' ? n.toString(16) : conv === 'X' ? n.toString(16).toUpperCase() : conv === 'o' ? n.toString(8) : String(n);
      }
      const w = Number(width || 0);
      if (s.length < w) s = flags.includes('-') ? s.padEnd(w) : s.padStart(w, flags.includes('0') && conv !== 's' ? '0' : ' ');
      out.text(s);
    }
    if (stop) break;
    if (unescapeInto(out, format.slice(last), false)) break;
    if (index === before) break;
  } while (index < args.length);
  p.stdout.write(out.concat());
  return status;
};

const mkdir: GuestProgram = (p) => {
  const { opts, operands } = options(p.argv.slice(1), 'm');
  const mode = opts.has('m') ? Number.parseInt(opts.get('m') ?? '', 8) : 0o755;
  let status = 0;
  for (const dir of operands) {
    const target = abs(p, dir);
    try {
      if (opts.has('p')) {
        let current = '';
        for (const part of target.split('/').filter(Boolean)) {
          current += `/${part}`;
          if (p.fs.vol.existsSync(current)) {
            if (!statOf(p, current).isDirectory()) throw Object.assign(new Error(), { code: 'ENOTDIR' });
            continue;
          }
          p.fs.vol.mkdirSync(current);
          p.fs.vol.chmodSync(current, current === target ? mode : 0o755);
        }
      } else {
        p.fs.vol.mkdirSync(target);
        p.fs.vol.chmodSync(target, mode);
      }
    } catch (error) {
      p.stderr.write(`mkdir: can't create directory '${dir}': ${errno(error)}\n`);
      status = 1;
    }
  }
  return status;
};

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const ls: GuestProgram = (p) => {
  const { opts, operands } = options(p.argv.slice(1));
  const all = opts.has('a');
  const almostAll = opts.has('A');
  const long = opts.has('l');
  const targets = operands.length ? operands : ['.'];
  let status = 0;
  const line = (name: string, st: Stat, path: string): string => {
    if (!long) return `${name}\n`;
    const owner = userName(p, Number(st.uid)) ?? String(st.uid);
    const group = groupName(p, Number(st.gid)) ?? String(st.gid);
    const m = new Date(Number(st.mtimeMs));
    const date = `${MONTHS[m.getUTCMonth()]} ${String(m.getUTCDate()).padStart(2)} ${String(m.getUTCHours()).padStart(2, '0')}:${String(m.getUTCMinutes()).padStart(2, '0')}`;
    const link = st.isSymbolicLink() ? ` -> ${String(p.fs.vol.readlinkSync(path))}` : '';
    return `${modeString(st)} ${String(st.nlink).padStart(4)} ${owner.padEnd(8)} ${group.padEnd(8)} ${String(st.size).padStart(9)} ${date} ${name}${link}\n`;
  };
  const dirs: string[] = [];
  let printed = false;
  for (const t of targets) {
    try {
      const st = lstatOf(p, abs(p, t));
      if (st.isDirectory() && !opts.has('d')) dirs.push(t);
      else {
        p.stdout.write(line(t, st, abs(p, t)));
        printed = true;
      }
    } catch (error) {
      p.stderr.write(`ls: ${t}: ${errno(error)}\n`);
      status = 1;
    }
  }
  for (const d of dirs) {
    if (targets.length > 1) p.stdout.write(`${printed ? '\n' : ''}${d}:\n`);
    printed = true;
    try {
      const dir = abs(p, d);
      const names = (p.fs.vol.readdirSync(dir) as string[]).filter((n) => all || almostAll || !n.startsWith('.')).sort();
      if (all) names.unshift('.', '..');
      for (const n of names) p.stdout.write(line(n, lstatOf(p, posix.join(dir, n)), posix.join(dir, n)));
    } catch (error) {
      p.stderr.write(`ls: can't open '${d}': ${errno(error)}\n`);
      status = 1;
    }
  }
  return status;
};

function evaluateTest(p: GuestProcess, args: string[]): boolean | 'error' {
  const maybeStat = (path: string, follow = true): Stat | undefined => {
    try {
      return follow ? statOf(p, abs(p, path)) : lstatOf(p, abs(p, path));
    } catch {
      return undefined;
    }
  };
  const primary = (a: string[]): [boolean, number] | 'error' => {
    if (a[0] === '!') {
      const r = primary(a.slice(1));
      return r === 'error' ? r : [!r[0], r[1] + 1];
    }
    const [x, op, y] = a;
    if (x === undefined) return 'error';
    const binary: Record<string, (l: string, r: string) => boolean> = {
      '=': (l, r) => l === r,
      '==': (l, r) => l === r,
      '!=': (l, r) => l !== r,
      '-eq': (l, r) => Number(l) === Number(r),
      '-ne': (l, r) => Number(l) !== Number(r),
      '-lt': (l, r) => Number(l) < Number(r),
      '-le': (l, r) => Number(l) <= Number(r),
      '-gt': (l, r) => Number(l) > Number(r),
      '-ge': (l, r) => Number(l) >= Number(r),
    };
    if (op !== undefined && y !== undefined && op in binary) return [(binary[op] as (l: string, r: string) => boolean)(x, y), 3];
    if (/^-[efdsrwxznLh]$/.test(x) && op !== undefined) {
      const st = maybeStat(op, x !== '-h' && x !== '-L');
      const results: Record<string, () => boolean> = {
        '-e': () => st !== undefined,
        '-f': () => st?.isFile() ?? false,
        '-d': () => st?.isDirectory() ?? false,
        '-s': () => (st ? Number(st.size) > 0 : false),
        '-r': () => (st ? canAccess(st, p, 4) : false),
        '-w': () => (st ? canAccess(st, p, 2) : false),
        '-x': () => (st ? canAccess(st, p, 1) : false),
        '-z': () => op === '',
        '-n': () => op !== '',
        '-L': () => st?.isSymbolicLink() ?? false,
        '-h': () => st?.isSymbolicLink() ?? false,
      };
      return [(results[x] as () => boolean)(), 2];
    }
    return [x !== '', 1];
  };
  if (args.length === 0) return false;
  let r = primary(args);
  if (r === 'error') return 'error';
  let [value, used] = r;
  while (used < args.length) {
    const joiner = args[used];
    if (joiner !== '-a' && joiner !== '-o') return 'error';
    r = primary(args.slice(used + 1));
    if (r === 'error') return 'error';
    value = joiner === '-a' ? value && r[0] : value || r[0];
    used += r[1] + 1;
  }
  return value;
}

const test: GuestProgram = (p) => {
  let args = p.argv.slice(1);
  const name = posix.basename(p.argv[0] ?? 'test');
  if (name === '[') {
    if (args.at(-1) !== ']') {
      p.stderr.write('[: missing ]\n');
      return 2;
    }
    args = args.slice(0, -1);
  }
  const r = evaluateTest(p, args);
  if (r === 'error') {
    p.stderr.write(`${name}: syntax error\n`);
    return 2;
  }
  return r ? 0 : 1;
};

const rm: GuestProgram = (p) => {
  const { opts, operands } = options(p.argv.slice(1));
  const recursive = opts.has('r') || opts.has('R');
  const force = opts.has('f');
  let status = 0;
  for (const file of operands) {
    const target = abs(p, file);
    try {
      const st = lstatOf(p, target);
      if (st.isDirectory() && !recursive) {
        p.stderr.write(`rm: '${file}' is a directory\n`);
        status = 1;
        continue;
      }
      p.fs.vol.rmSync(target, { recursive, force: false });
    } catch (error) {
      if (force && codeOf(error) === 'ENOENT') continue;
      p.stderr.write(`rm: can't remove '${file}': ${errno(error)}\n`);
      status = 1;
    }
  }
  return status;
};

/** Apply an octal or symbolic (`u+x`, `go-w`, `a=r`) chmod mode to an existing mode. */
function applyMode(spec: string, current: number, isDir: boolean): number | undefined {
  if (/^[0-7]{1,4}$/.test(spec)) return Number.parseInt(spec, 8);
  let mode = current & 0o7777;
  for (const clause of spec.split(',')) {
    const m = /^([ugoa]*)([+\-=])([rwxXst]*)$/.exec(clause);
    if (!m) return undefined;
    const [, who = '', op, perms = ''] = m;
    const targets = who === '' || who.includes('a') ? 'ugo' : who;
    let bits = 0;
    for (const t of targets) {
      const shift = t === 'u' ? 6 : t === 'g' ? 3 : 0;
      if (perms.includes('r')) bits |= 4 << shift;
      if (perms.includes('w')) bits |= 2 << shift;
      if (perms.includes('x') || (perms.includes('X') && (isDir || (current & 0o111) !== 0))) bits |= 1 << shift;
      if (perms.includes('s') && t !== 'o') bits |= t === 'u' ? 0o4000 : 0o2000;
      if (perms.includes('t') && t === 'o') bits |= 0o1000;
    }
    if (op === '+') mode |= bits;
    else if (op === '-') mode &= ~bits;
    else {
      let clear = 0;
      for (const t of targets) clear |= t === 'u' ? 0o4700 : t === 'g' ? 0o2070 : 0o1007;
      mode = (mode & ~clear) | bits;
    }
  }
  return mode;
}

function walkTree(p: GuestProcess, root: string, recursive: boolean, visit: (path: string) => void): void {
  visit(root);
  if (!recursive) return;
  const st = lstatOf(p, root);
  if (!st.isDirectory()) return;
  for (const name of p.fs.vol.readdirSync(root) as string[]) walkTree(p, posix.join(root, name), true, visit);
}

const chmod: GuestProgram = (p) => {
  // `chmod -x f` is a mode, not an option: hide such words from the option scanner.
  const { opts, operands } = options(p.argv.slice(1).map((a) => (/^-[rwxXst]+$/.test(a) ? `\0${a}` : a)));
  const [rawMode, ...files] = operands.map((a) => a.replace(/^\0/, ''));
  if (rawMode === undefined || files.length === 0) {
    p.stderr.write('chmod: missing operand\n');
    return 1;
  }
  let status = 0;
  for (const file of files) {
    try {
      walkTree(p, abs(p, file), opts.has('R'), (path) => {
        const st = statOf(p, path);
        if (p.user.uid !== 0 && Number(st.uid) !== p.user.uid) throw Object.assign(new Error(), { code: 'EPERM' });
        const mode = applyMode(rawMode, Number(st.mode), st.isDirectory());
        if (mode === undefined) throw Object.assign(new Error(`invalid mode '${rawMode}'`), { code: 'EINVAL' });
        p.fs.vol.chmodSync(path, mode);
      });
    } catch (error) {
      if (codeOf(error) === 'EINVAL') {
        p.stderr.write(`chmod: ${(error as Error).message}\n`);
        return 1;
      }
      p.stderr.write(`chmod: ${file}: ${errno(error)}\n`);
      status = 1;
    }
  }
  return status;
};

const chown: GuestProgram = (p) => {
  const { opts, operands } = options(p.argv.slice(1));
  const [spec, ...files] = operands;
  if (spec === undefined || files.length === 0) {
    p.stderr.write('chown: missing operand\n');
    return 1;
  }
  const [userPart = '', groupPart] = spec.split(/[:.]/);
  const passwd = readPasswd(p.fs);
  let uid: number | undefined;
  let gid: number | undefined;
  if (userPart !== '') {
    const entry = /^\d+$/.test(userPart) ? undefined : passwd.find((u) => u.name === userPart);
    if (!/^\d+$/.test(userPart) && !entry) {
      p.stderr.write(`chown: unknown user ${userPart}\n`);
      return 1;
    }
    uid = entry ? entry.uid : Number(userPart);
    if (groupPart === '') gid = entry?.gid ?? passwd.find((u) => u.uid === uid)?.gid;
  }
  if (groupPart) {
    const group = /^\d+$/.test(groupPart) ? Number(groupPart) : readGroups(p.fs).find((g) => g.name === groupPart)?.gid;
    if (group === undefined) {
      p.stderr.write(`chown: unknown group ${groupPart}\n`);
      return 1;
    }
    gid = group;
  }
  let status = 0;
  for (const file of files) {
    try {
      walkTree(p, abs(p, file), opts.has('R'), (path) => {
        const st = lstatOf(p, path);
        if (p.user.uid !== 0) throw Object.assign(new Error(), { code: 'EPERM' });
        p.fs.vol.lchownSync(path, uid ?? Number(st.uid), gid ?? Number(st.gid));
      });
    } catch (error) {
      p.stderr.write(`chown: ${file}: ${errno(error)}\n`);
      status = 1;
    }
  }
  return status;
};

const stat: GuestProgram = (p) => {
  const args = p.argv.slice(1);
  let format: string | undefined;
  let follow = false;
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '-c' || a === '--format') format = args[++i] ?? '';
    else if (a.startsWith('--format=')) format = a.slice('--format='.length);
    else if (a === '-L') follow = true;
    else files.push(a);
  }
  let status = 0;
  for (const file of files) {
    let st: Stat;
    try {
      st = follow ? statOf(p, abs(p, file)) : lstatOf(p, abs(p, file));
    } catch (error) {
      p.stderr.write(`stat: can't stat '${file}': ${errno(error)}\n`);
      status = 1;
      continue;
    }
    const type = st.isDirectory()
      ? 'directory'
      : st.isSymbolicLink()
        ? 'symbolic link'
        : Number(st.size) === 0
          ? 'regular empty file'
          : 'regular file';
    const fields: Record<string, () => string> = {
      a: () => (Number(st.mode) & 0o7777).toString(8),
      A: () => modeString(st),
      u: () => String(st.uid),
      g: () => String(st.gid),
      U: () => userName(p, Number(st.uid)) ?? 'UNKNOWN',
      G: () => groupName(p, Number(st.gid)) ?? 'UNKNOWN',
      s: () => String(st.size),
      n: () => file,
      F: () => type,
      Y: () => String(Math.floor(Number(st.mtimeMs) / 1000)),
      '%': () => '%',
    };
    if (format === undefined) {
      p.stdout.write(`  File: ${file}\n  Size: ${st.size}\t${type}\nAccess: (${fields.a?.().padStart(4, '0')}/${modeString(st)})  Uid: (${st.uid})  Gid: (${st.gid})\n`);
    } else {
      p.stdout.write(`${format.replace(/%(.)/g, (m, c: string) => fields[c]?.() ?? m)}\n`);
    }
  }
  return status;
};

const id: GuestProgram = (p) => {
  const { opts, operands } = options(p.argv.slice(1));
  const passwd = readPasswd(p.fs);
  let uid = p.user.uid;
  let gid = p.user.gid;
  if (operands[0] !== undefined) {
    const entry = passwd.find((u) => u.name === operands[0]);
    if (!entry) {
      p.stderr.write(`id: unknown user ${operands[0]}\n`);
      return 1;
    }
    ({ uid, gid } = entry);
  }
  const name = opts.has('n');
  const show = (n: number, lookup: (x: number) => string | undefined): string | undefined =>
    name ? lookup(n) : String(n);
  if (opts.has('u') || opts.has('g')) {
    const value = opts.has('u') ? show(uid, (x) => userName(p, x)) : show(gid, (x) => groupName(p, x));
    if (value === undefined) {
      p.stderr.write(`id: unknown ID ${opts.has('u') ? uid : gid}\n`);
      return 1;
    }
    p.stdout.write(`${value}\n`);
    return 0;
  }
  const label = (n: number, lookup: string | undefined): string => (lookup ? `${n}(${lookup})` : String(n));
  const g = label(gid, groupName(p, gid));
  p.stdout.write(`uid=${label(uid, userName(p, uid))} gid=${g} groups=${g}\n`);
  return 0;
};

const env: GuestProgram = async (p) => {
  const args = p.argv.slice(1);
  let childEnv: Record<string, string> = { ...p.env };
  let i = 0;
  if (args[0] === '-i' || args[0] === '-') {
    childEnv = {};
    i++;
  }
  for (; i < args.length && /^[^=]+=/.test(args[i] as string); i++) {
    const a = args[i] as string;
    const eq = a.indexOf('=');
    childEnv[a.slice(0, eq)] = a.slice(eq + 1);
  }
  const command = args.slice(i);
  if (command.length === 0) {
    for (const [k, v] of Object.entries(childEnv)) p.stdout.write(`${k}=${v}\n`);
    return 0;
  }
  const code = await p.spawn({ argv: command, env: childEnv, cwd: p.cwd, stdin: p.stdinRef, stdout: p.stdout, stderr: p.stderr });
  if (code === null) {
    p.stderr.write(`env: can't execute '${command[0]}': No such file or directory\n`);
    return 127;
  }
  return code;
};

const sleepApplet: GuestProgram = async (p) => {
  let ms = 0;
  for (const arg of p.argv.slice(1)) {
    const m = /^(\d+(?:\.\d*)?|\.\d+)([smhd]?)$/.exec(arg);
    if (!m) {
      p.stderr.write(`sleep: invalid number '${arg}'\n`);
      return 1;
    }
    ms += Number(m[1]) * ({ '': 1000, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as string] ?? 1000);
  }
  await sleep(ms, p.signal);
  return 0;
};

const head: GuestProgram = (p) => {
  const args = p.argv.slice(1).map((a) => (/^-\d+$/.test(a) ? `-n${a.slice(1)}` : a));
  const { opts, operands } = options(args, 'cn');
  const bytes = opts.has('c') ? Number(opts.get('c')) : undefined;
  const lines = opts.has('n') ? Number(opts.get('n')) : 10;
  let status = 0;
  const files = operands.length ? operands : ['-'];
  for (const file of files) {
    let data: Uint8Array;
    try {
      data = readInput(p, file);
    } catch (error) {
      p.stderr.write(`head: can't open '${file}': ${errno(error)}\n`);
      status = 1;
      continue;
    }
    if (files.length > 1) p.stdout.write(`==> ${file === '-' ? 'standard input' : file} <==\n`);
    if (bytes !== undefined) p.stdout.write(data.subarray(0, bytes));
    else {
      let end = 0;
      for (let n = 0; n < lines && end < data.length; n++) {
        const nl = data.indexOf(10, end);
        end = nl === -1 ? data.length : nl + 1;
      }
      p.stdout.write(data.subarray(0, end));
    }
  }
  return status;
};

const tar: GuestProgram = (p) => {
  let args = p.argv.slice(1);
  if (args[0] && !args[0].startsWith('-')) args = [`-${args[0]}`, ...args.slice(1)]; // `tar xf a.tar`
  let file: string | undefined;
  let dir: string | undefined;
  const modes = new Set<string>();
  let sameOwner = p.user.uid === 0;
  let gzip = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--no-same-owner') sameOwner = false;
    else if (a === '--same-owner') sameOwner = p.user.uid === 0;
    else if (a === '--no-same-permissions' || a === '--same-permissions') continue;
    else if (a.startsWith('--directory=')) dir = a.slice('--directory='.length);
    else if (a.startsWith('--file=')) file = a.slice('--file='.length);
    else if (a.startsWith('-') && !a.startsWith('--')) {
      for (let j = 1; j < a.length; j++) {
        const c = a[j] as string;
        if (c === 'f' || c === 'C') {
          const value = a.slice(j + 1) || (args[++i] ?? '');
          if (c === 'f') file = value;
          else dir = value;
          break;
        }
        if (c === 'x' || c === 't' || c === 'c') modes.add(c);
        else if (c === 'z') gzip = true;
        else if (c === 'o') sameOwner = false;
        else if (c !== 'v' && c !== 'p') {
          p.stderr.write(`tar: invalid option -- '${c}'\n`);
          return 1;
        }
      }
    } else {
      p.stderr.write(`tar: the fake extracts whole archives only (got '${a}')\n`);
      return 1;
    }
  }
  if (modes.has('c') || modes.size !== 1) {
    p.stderr.write('tar: the fake supports only -x and -t\n');
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
  const base = dir === undefined ? p.cwd : abs(p, dir);
  if (!p.fs.vol.existsSync(base) || !statOf(p, base).isDirectory()) {
    p.stderr.write(`tar: can't change directory to '${dir}': No such file or directory\n`);
    return 1;
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
        if (lstatOf(p, target).isDirectory()) throw Object.assign(new Error(), { code: 'EISDIR', path: e.path });
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
};

const touch: GuestProgram = (p) => {
  let status = 0;
  for (const file of options(p.argv.slice(1)).operands) {
    const target = abs(p, file);
    try {
      if (p.fs.vol.existsSync(target)) {
        const now = Date.now() / 1000;
        p.fs.vol.utimesSync(target, now, now);
      } else {
        p.fs.vol.writeFileSync(target, '');
        p.fs.vol.chmodSync(target, 0o644);
      }
    } catch (error) {
      p.stderr.write(`touch: ${file}: ${errno(error)}\n`);
      status = 1;
    }
  }
  return status;
};

const mv: GuestProgram = (p) => {
  const operands = options(p.argv.slice(1)).operands;
  const dest = operands.pop();
  if (dest === undefined || operands.length === 0) {
    p.stderr.write('mv: missing operand\n');
    return 1;
  }
  let status = 0;
  for (const src of operands) {
    let target = abs(p, dest);
    try {
      if (p.fs.vol.existsSync(target) && statOf(p, target).isDirectory()) {
        target = posix.join(target, posix.basename(src));
      }
      p.fs.vol.renameSync(abs(p, src), target);
    } catch (error) {
      p.stderr.write(`mv: can't rename '${src}': ${errno(error)}\n`);
      status = 1;
    }
  }
  return status;
};

const which: GuestProgram = (p) => {
  let status = 0;
  for (const name of p.argv.slice(1)) {
    const path = p.which(name);
    if (path) p.stdout.write(`${path}\n`);
    else status = 1;
  }
  return status;
};

const whoami: GuestProgram = (p) => {
  const name = userName(p, p.user.uid);
  if (!name) {
    p.stderr.write(`whoami: unknown uid ${p.user.uid}\n`);
    return 1;
  }
  p.stdout.write(`${name}\n`);
  return 0;
};

const wc: GuestProgram = (p) => {
  const { opts, operands } = options(p.argv.slice(1));
  const which = ['l', 'w', 'c'].filter((c) => opts.has(c));
  const columns = which.length ? which : ['l', 'w', 'c'];
  let status = 0;
  for (const file of operands.length ? operands : ['-']) {
    let data: Uint8Array;
    try {
      data = readInput(p, file);
    } catch (error) {
      p.stderr.write(`wc: can't open '${file}': ${errno(error)}\n`);
      status = 1;
      continue;
    }
    const text = toText(data);
    const counts: Record<string, number> = {
      l: data.filter((b) => b === 10).length,
      w: text.split(/\s+/).filter(Boolean).length,
      c: data.length,
    };
    const numbers = columns.map((c) => String(counts[c]).padStart(columns.length > 1 ? 7 : 0)).join(' ');
    p.stdout.write(file === '-' ? `${numbers}\n` : `${numbers} ${file}\n`);
  }
  return status;
};

const sha256sum: GuestProgram = (p) => {
  let status = 0;
  const files = p.argv.slice(1);
  for (const file of files.length ? files : ['-']) {
    try {
      p.stdout.write(`${createHash('sha256').update(readInput(p, file)).digest('hex')}  ${file}\n`);
    } catch (error) {
      p.stderr.write(`sha256sum: can't open '${file}': ${errno(error)}\n`);
      status = 1;
    }
  }
  return status;
};

const pwd: GuestProgram = (p) => {
  p.stdout.write(`${p.cwd}\n`);
  return 0;
};

const basename: GuestProgram = (p) => {
  const [path = '', suffix] = p.argv.slice(1);
  let base = posix.basename(path);
  if (suffix && base.endsWith(suffix) && base !== suffix) base = base.slice(0, -suffix.length);
  p.stdout.write(`${base}\n`);
  return 0;
};

const dirname: GuestProgram = (p) => {
  p.stdout.write(`${posix.dirname(p.argv[1] ?? '.')}\n`);
  return 0;
};

/** Applets run as the process's user: memfs checks against the acting uid. */
function asUser(program: GuestProgram): GuestProgram {
  return (p) => p.fs.as(p.user, () => program(p));
}

export const APPLETS: Readonly<Record<string, GuestProgram>> = Object.fromEntries(
  Object.entries({
    cat,
    echo,
    printf,
    mkdir,
    ls,
    test,
    '[': test,
    rm,
    chmod,
    chown,
    stat,
    id,
    env,
    true: () => 0,
    false: () => 1,
    sleep: sleepApplet,
    head,
    tar,
    touch,
    mv,
    which,
    whoami,
    wc,
    sha256sum,
    pwd,
    basename,
    dirname,
    nc,
  }).map(([name, program]) => [name, asUser(program)]),
);
