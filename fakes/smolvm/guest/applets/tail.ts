/** `tail [-n N] [-c N] [-qv] [FILE]...`: `+N` counts from the start; `-f` would never end here. */
import { complain, die, type Applet, type AppletProcess } from './applet.ts';
import { errno, readInput } from './files.ts';
import { getopt } from './getopt.ts';

export const tail: Applet = {
  source: 'coreutils/tail.c',
  usage: '[OPTIONS] [FILE]...',
  summary: 'Print last 10 lines of FILEs (or stdin) to.',
  main(p) {
    const args = p.argv.slice(1);
    // SUSv2 `tail -5` / `tail +5` as the first argument.
    if (/^[+-]\d/.test(args[0] ?? '')) args.splice(0, 1, '-n', args[0] as string);
    const o = getopt(p, args, { short: 'fc:n:qs:vF', unmodelled: 'fFs' });
    const byBytes = o.has('c');
    const raw = (byBytes ? o.value('c') : o.value('n')) ?? '10';
    const m = /^([+-]?)(\d+)(b|k|m)?$/.exec(raw);
    if (!m) die(p, `invalid number '${raw}'`);
    const n = Number(m[2]) * ({ b: 512, k: 1024, m: 1048576 }[m[3] ?? ''] ?? 1);
    const fromTop = m[1] === '+';
    const files = o.operands.length ? o.operands : ['-'];
    const opened: Array<[string, Uint8Array]> = [];
    let status = 0;
    for (const file of files) {
      try {
        opened.push([file, readInput(p, file)]);
      } catch (error) {
        complain(p, `can't open '${file}': ${errno(error)}`);
        status = 1;
      }
    }
    if (opened.length === 0) die(p, 'no files');
    const headers = o.has('v') || (opened.length > 1 && !o.has('q'));
    opened.forEach(([file, data], i) => {
      if (headers) p.stdout.write(`${i ? '\n' : ''}==> ${file === '-' ? 'standard input' : file} <==\n`);
      p.stdout.write(byBytes ? bytes(data, n, fromTop) : lines(data, n, fromTop));
    });
    return status;
  },
};

function bytes(data: Uint8Array, n: number, fromTop: boolean): Uint8Array {
  return fromTop ? data.subarray(Math.max(0, n - 1)) : data.subarray(Math.max(0, data.length - n));
}

function lines(data: Uint8Array, n: number, fromTop: boolean): Uint8Array {
  const starts = [0];
  for (let i = 0; i < data.length - 1; i++) if (data[i] === 10) starts.push(i + 1);
  if (data.length === 0) return data;
  if (fromTop) return n <= 1 ? data : data.subarray(starts[n - 1] ?? data.length);
  return n === 0 ? new Uint8Array() : data.subarray(starts[Math.max(0, starts.length - n)] ?? 0);
}

export type { AppletProcess };
