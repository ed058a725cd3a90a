/** `head [-n N] [-c N] [-qv] [FILE]...`: `-N` is `-n N`; a negative count means all but the last N. */
import { die, type Applet, type AppletProcess } from './applet.ts';
import { Inputs } from './files.ts';
import { getopt } from './getopt.ts';

export const head: Applet = {
  source: 'coreutils/head.c',
  usage: '[OPTIONS] [FILE]...',
  summary: 'Print first 10 lines of FILEs (or stdin).',
  main(p) {
    const args = p.argv.slice(1);
    if (/^-\d/.test(args[0] ?? '')) args.splice(0, 1, '-n', (args[0] as string).slice(1));
    // head.c parses with plain getopt(): options end at the first operand.
    const o = getopt(p, args, { short: 'n:c:qv', plain: true });
    const byBytes = o.has('c') && (!o.has('n') || args.lastIndexOf('-c') > args.lastIndexOf('-n'));
    const count = count_(p, (byBytes ? o.value('c') : o.value('n')) ?? '10');
    const files = o.operands.length ? o.operands : ['-'];
    const headers = o.has('v') || (files.length > 1 && !o.has('q'));
    let first = true;
    const inputs = new Inputs(p, files);
    for (const [file, data] of inputs) {
      if (headers) p.stdout.write(`${first ? '' : '\n'}==> ${file === '-' ? 'standard input' : file} <==\n`);
      first = false;
      p.stdout.write(byBytes ? sliceBytes(data, count) : sliceLines(data, count));
    }
    return inputs.failed ? 1 : 0;
  },
};

function count_(p: AppletProcess, raw: string): number {
  const m = /^(-?)(\d+)(b|k|m)?$/.exec(raw);
  if (!m) die(p, `invalid number '${raw}'`);
  const n = Number(m[2]) * ({ b: 512, k: 1024, m: 1048576 }[m[3] ?? ''] ?? 1);
  return m[1] ? -n : n;
}

function sliceBytes(data: Uint8Array, count: number): Uint8Array {
  return count >= 0 ? data.subarray(0, count) : data.subarray(0, Math.max(0, data.length + count));
}

/** Up to the end of the `count`th line; negative: all but the last `-count` lines. */
function sliceLines(data: Uint8Array, count: number): Uint8Array {
  const ends: number[] = [];
  for (let i = 0; i < data.length; i++) if (data[i] === 10) ends.push(i + 1);
  if (data.length && data[data.length - 1] !== 10) ends.push(data.length);
  const keep = count >= 0 ? Math.min(count, ends.length) : Math.max(0, ends.length + count);
  return data.subarray(0, keep === 0 ? 0 : (ends[keep - 1] as number));
}
