/** `stat [-L] [-c FMT] FILE...`: the default block, or `-c`'s `%` sequences. */
import { complain, UsageFailure, type Applet, type AppletProcess } from './applet.ts';
import { abs, blocks512, errno, groupName, modeString, userName, type Stat } from './files.ts';
import { getopt } from './getopt.ts';

// The fake's filesystem is one device; this is the number stat reports for it.
const DEVICE = 0xfe00;

export const stat: Applet = {
  source: 'coreutils/stat.c',
  usage: '[-ltf] [-c FMT] FILE...',
  summary: 'Display file (default) or filesystem status',
  main(p) {
    const o = getopt(p, p.argv.slice(1), { short: 'c:fLt', long: { format: 'c:', dereference: 'L' }, unmodelled: 'ft' });
    if (o.operands.length === 0) throw new UsageFailure();
    let status = 0;
    for (const file of o.operands) {
      let st: Stat;
      try {
        st = (o.has('L') ? p.fs.vol.statSync(abs(p, file)) : p.fs.vol.lstatSync(abs(p, file))) as Stat;
      } catch (error) {
        complain(p, `can't stat '${file}': ${errno(error)}`);
        status = 1;
        continue;
      }
      const format = o.value('c');
      p.stdout.write(format === undefined ? block(p, file, st) : `${expand(p, file, st, format)}\n`);
    }
    return status;
  },
};

function fileType(st: Stat): string {
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symbolic link';
  return Number(st.size) === 0 ? 'regular empty file' : 'regular file';
}

/** `human_time`: `2026-11-30 04:50:49.438256447 +0000` (the guest clock is UTC). */
function humanTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  const nanos = String(Math.round((ms % 1000) * 1e6)).padStart(9, '0');
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${nanos} +0000`;
}

function link(p: AppletProcess, file: string, st: Stat): string | undefined {
  return st.isSymbolicLink() ? String(p.fs.vol.readlinkSync(abs(p, file))) : undefined;
}

function block(p: AppletProcess, file: string, st: Stat): string {
  const target = link(p, file, st);
  const blocks = blocks512(st);
  return (
    `  File: '${file}'${target !== undefined ? ` -> '${target}'` : ''}\n` +
    `  Size: ${String(st.size).padEnd(10)}\tBlocks: ${String(blocks).padEnd(10)} IO Block: ${'4096'.padEnd(6)} ${fileType(st)}\n` +
    `Device: ${DEVICE.toString(16)}h/${DEVICE}d\tInode: ${String(st.ino).padEnd(10)}  Links: ${String(st.nlink).padEnd(5)}\n` +
    `Access: (${(Number(st.mode) & 0o7777).toString(8).padStart(4, '0')}/${modeString(st)})  ` +
    `Uid: (${String(st.uid).padStart(5)}/${(userName(p, Number(st.uid)) ?? 'UNKNOWN').padStart(8)})   ` +
    `Gid: (${String(st.gid).padStart(5)}/${(groupName(p, Number(st.gid)) ?? 'UNKNOWN').padStart(8)})\n` +
    `Access: ${humanTime(Number(st.mtimeMs))}\nModify: ${humanTime(Number(st.mtimeMs))}\nChange: ${humanTime(Number(st.mtimeMs))}\n`
  );
}

function expand(p: AppletProcess, file: string, st: Stat, format: string): string {
  const seconds = String(Math.floor(Number(st.mtimeMs) / 1000));
  const fields: Record<string, () => string> = {
    a: () => (Number(st.mode) & 0o7777).toString(8),
    A: () => modeString(st),
    b: () => String(blocks512(st)),
    B: () => '512',
    d: () => String(DEVICE),
    D: () => DEVICE.toString(16),
    f: () => Number(st.mode).toString(16),
    F: () => fileType(st),
    g: () => String(st.gid),
    G: () => groupName(p, Number(st.gid)) ?? 'UNKNOWN',
    h: () => String(st.nlink),
    i: () => String(st.ino),
    n: () => file,
    N: () => {
      const target = link(p, file, st);
      return target === undefined ? file : `'${file}' -> '${target}'`;
    },
    o: () => '4096',
    s: () => String(st.size),
    u: () => String(st.uid),
    U: () => userName(p, Number(st.uid)) ?? 'UNKNOWN',
    x: () => humanTime(Number(st.mtimeMs)),
    X: () => seconds,
    y: () => humanTime(Number(st.mtimeMs)),
    Y: () => seconds,
    z: () => humanTime(Number(st.mtimeMs)),
    Z: () => seconds,
    '%': () => '%',
  };
  return format.replace(/%(.)/g, (m, c: string) => fields[c]?.() ?? m);
}
