/**
 * `dd [if=FILE] [of=FILE] [bs=N] [ibs=N] [obs=N] [count=N] [skip=N] [seek=N] [conv=notrunc] [status=none|noxfer]`.
 * Alpine builds it without the third status line, so stderr gets "N+M records in/out" only.
 */
import { die, UsageFailure, type Applet, type AppletProcess } from './applet.ts';
import { abs, errno, readInput } from './files.ts';

const SUFFIX: Readonly<Record<string, number>> = { '': 1, c: 1, w: 2, b: 512, k: 1024, K: 1024, M: 1048576, G: 1073741824 };

export const dd: Applet = {
  source: 'coreutils/dd.c',
  usage:
    '[if=FILE] [of=FILE] [ibs=N obs=N/bs=N] [count=N] [skip=N] [seek=N]\n\t[conv=notrunc|noerror|sync|fsync]\n\t[iflag=skip_bytes|count_bytes|fullblock|direct] [oflag=seek_bytes|append|direct]',
  summary: 'Copy a file with converting and formatting',
  main(p) {
    const ops: Record<string, string> = {};
    for (const arg of p.argv.slice(1)) {
      if (arg === '--') continue;
      const eq = arg.indexOf('=');
      const key = eq === -1 ? '' : arg.slice(0, eq);
      if (!['bs', 'count', 'seek', 'skip', 'if', 'of', 'status', 'ibs', 'obs', 'conv', 'iflag', 'oflag'].includes(key)) throw new UsageFailure();
      ops[key] = arg.slice(eq + 1);
    }
    const size = (key: string, fallback: number): number => {
      const raw = ops[key];
      if (raw === undefined) return fallback;
      const m = /^(\d+)([cwbkKMG]?)$/.exec(raw);
      if (!m) die(p, `invalid argument '${raw}' to '${key}'`);
      return Number(m[1]) * (SUFFIX[m[2] ?? ''] ?? 1);
    };
    const ibs = size('bs', size('ibs', 512));
    const obs = size('bs', size('obs', 512));
    const count = ops.count === undefined ? Number.POSITIVE_INFINITY : size('count', 0);
    const skip = size('skip', 0);
    const seek = size('seek', 0);
    const conv = (ops.conv ?? '').split(',').filter(Boolean);
    const status = ops.status;
    if (status !== undefined && status !== 'none' && status !== 'noxfer') die(p, `invalid argument '${status}' to 'status'`);
    let input: Uint8Array;
    try {
      input = readInput(p, ops.if ?? '-');
    } catch (error) {
      die(p, `can't open '${ops.if}': ${errno(error)}`);
    }
    const chunk = input.subarray(Math.min(input.length, skip * ibs));
    const taken = chunk.subarray(0, Math.min(chunk.length, count * ibs));
    const inFull = Math.floor(taken.length / ibs);
    const inPartial = taken.length % ibs ? 1 : 0;
    write(p, ops.of, taken, seek * obs, conv.includes('notrunc'));
    if (status !== 'none') {
      p.stderr.write(`${inFull}+${inPartial} records in\n${Math.floor(taken.length / obs)}+${taken.length % obs ? 1 : 0} records out\n`);
    }
    return 0;
  },
};

function write(p: AppletProcess, file: string | undefined, data: Uint8Array, offset: number, notrunc: boolean): void {
  if (file === undefined) {
    p.stdout.write(data);
    return;
  }
  const path = abs(p, file);
  if (path === '/dev/null') return;
  let old: Uint8Array = new Uint8Array();
  try {
    if (p.fs.vol.existsSync(path)) old = p.fs.vol.readFileSync(path) as Uint8Array;
    const length = notrunc ? Math.max(old.length, offset + data.length) : offset + data.length;
    const out = new Uint8Array(length);
    out.set(old.subarray(0, Math.min(old.length, length)));
    out.set(data, offset);
    const fresh = !p.fs.vol.existsSync(path);
    p.fs.vol.writeFileSync(path, out);
    if (fresh) p.fs.vol.chmodSync(path, 0o644);
  } catch (error) {
    die(p, `can't open '${file}': ${errno(error)}`);
  }
}
