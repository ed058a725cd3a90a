/**
 * `od [-abcdilosvx] [-t TYPE]... [-A RADIX] [-N SIZE] [-j SKIP] [-w WIDTH] [FILE]...`: 16 bytes a
 * line, little-endian words, repeated lines folded into `*` unless -v, the end offset last.
 */
import { complain, die, type Applet, type AppletProcess } from './applet.ts';
import { errno, readInput } from './files.ts';
import { getopt } from './getopt.ts';

interface Format {
  readonly size: number;
  readonly render: (bytes: Uint8Array) => string;
}

const NAMED: Readonly<Record<number, string>> = { 0: '\\0', 7: '\\a', 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r' };
const ASCII_NAMES = [
  'nul',
  'soh',
  'stx',
  'etx',
  'eot',
  'enq',
  'ack',
  'bel',
  'bs',
  'ht',
  'nl',
  'vt',
  'ff',
  'cr',
  'so',
  'si',
  'dle',
  'dc1',
  'dc2',
  'dc3',
  'dc4',
  'nak',
  'syn',
  'etb',
  'can',
  'em',
  'sub',
  'esc',
  'fs',
  'gs',
  'rs',
  'us',
  'sp',
];
const SIZES: Readonly<Record<string, number>> = { C: 1, S: 2, I: 4, L: 8 };

function le(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i] ?? 0);
  return n;
}

/** `-t` type letters: a, c, or d/o/u/x with a byte count (1, 2, 4, 8 or C S I L). */
function parseType(p: AppletProcess, spec: string): Format[] {
  const out: Format[] = [];
  let i = 0;
  while (i < spec.length) {
    const t = spec[i++] as string;
    if (t === 'a') out.push({ size: 1, render: (b) => ` ${(ASCII_NAMES[(b[0] ?? 0) & 0x7f] ?? String.fromCharCode((b[0] ?? 0) & 0x7f)).padStart(3)}` });
    else if (t === 'c') {
      out.push({
        size: 1,
        render: (b) => {
          const c = b[0] ?? 0;
          const text = NAMED[c] ?? (c >= 32 && c < 127 ? String.fromCharCode(c) : c.toString(8).padStart(3, '0'));
          return ` ${text.padStart(3)}`;
        },
      });
    } else if ('doux'.includes(t)) {
      const m = /^(\d+|[CSIL])?/.exec(spec.slice(i)) as RegExpExecArray;
      i += m[0].length;
      const size = m[0] === '' ? 4 : (SIZES[m[0]] ?? Number(m[0]));
      if (![1, 2, 4, 8].includes(size)) die(p, `invalid type string '${spec}'; ${size}-byte integral type is not supported`);
      const bits = BigInt(size * 8);
      const max = (1n << bits) - 1n;
      const digits = t === 'x' ? size * 2 : t === 'o' ? max.toString(8).length : t === 'u' ? max.toString().length : (max >> 1n).toString().length + 1;
      out.push({
        size,
        render: (b) => {
          let n = le(b);
          if (t === 'd' && n > max >> 1n) n -= 1n << bits;
          const text = t === 'x' ? n.toString(16).padStart(digits, '0') : t === 'o' ? n.toString(8).padStart(digits, '0') : n.toString().padStart(digits);
          return ` ${text}`;
        },
      });
    } else die(p, `invalid character '${t}' in type string '${spec}'`);
  }
  return out;
}

export const od: Applet = {
  source: 'coreutils/od_bloaty.c',
  usage: '[-abcdfhilovxs] [-t TYPE] [-A RADIX] [-N SIZE] [-j SKIP] [-S MINSTR] [-w WIDTH] [FILE]...',
  summary: 'Print FILEs (or stdin) unambiguously, as octal bytes by default',
  main(p) {
    const o = getopt(p, p.argv.slice(1), { short: 'A:N:abcdfhij:lot:vxsS:w::', unmodelled: 'fhS' });
    const formats: Format[] = [];
    const shorthands: Record<string, string> = { a: 'a', b: 'o1', c: 'c', d: 'u2', i: 'd4', l: 'd8', o: 'o2', s: 'd2', x: 'x2' };
    for (const [letter, type] of Object.entries(shorthands)) if (o.has(letter)) formats.push(...parseType(p, type));
    for (const spec of o.values('t')) formats.push(...parseType(p, spec));
    if (formats.length === 0) formats.push(...parseType(p, 'o2'));
    const radix = o.value('A') ?? 'o';
    if (!['d', 'o', 'x', 'n'].includes(radix)) die(p, `bad output address radix '${radix}': it must be one character from [doxn]`);
    const address = (n: number): string =>
      radix === 'n' ? '' : radix === 'x' ? n.toString(16).padStart(6, '0') : radix === 'd' ? String(n).padStart(7, '0') : n.toString(8).padStart(7, '0');
    const width = o.has('w') ? Number(o.value('w') || 32) : 16;
    const chunks: Uint8Array[] = [];
    let status = 0;
    for (const file of o.operands.length ? o.operands : ['-']) {
      try {
        chunks.push(readInput(p, file));
      } catch (error) {
        complain(p, `${file}: ${errno(error)}`);
        status = 1;
      }
    }
    const all = Buffer.concat(chunks);
    const skip = Number(o.value('j') ?? 0);
    const data = all.subarray(skip, o.has('N') ? skip + Number(o.value('N')) : undefined);
    let previous = '';
    let starred = false;
    for (let offset = 0; offset < data.length; offset += width) {
      const line = data.subarray(offset, offset + width);
      const body = formats
        .map((f, k) => {
          let text = k === 0 ? '' : ' '.repeat(address(0).length);
          for (let i = 0; i < line.length; i += f.size) {
            const piece = new Uint8Array(f.size);
            piece.set(line.subarray(i, i + f.size));
            text += f.render(piece);
          }
          return text;
        })
        .join('\n');
      if (!o.has('v') && body === previous && line.length === width) {
        if (!starred) p.stdout.write('*\n');
        starred = true;
        continue;
      }
      starred = false;
      previous = body;
      p.stdout.write(`${address(skip + offset)}${body}\n`);
    }
    if (radix !== 'n') p.stdout.write(`${address(skip + data.length)}\n`);
    return status;
  },
};
