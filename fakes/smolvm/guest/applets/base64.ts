/** `base64 [-d] [-w COL] [FILE]`: encoding wraps at 76 columns; decoding skips other bytes. */
import { die, UsageFailure, type Applet } from './applet.ts';
import { errno, readInput } from './files.ts';
import { getopt } from './getopt.ts';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

export const base64: Applet = {
  source: 'coreutils/uudecode.c',
  usage: '[-d] [-w COL] [FILE]',
  summary: 'Base64 encode or decode FILE to standard output',
  main(p) {
    const o = getopt(p, p.argv.slice(1), { short: 'diw:' });
    if (o.operands.length > 1) throw new UsageFailure();
    const file = o.operands[0] ?? '-';
    let data: Uint8Array;
    try {
      data = readInput(p, file);
    } catch (error) {
      die(p, `can't open '${file}': ${errno(error)}`);
    }
    if (o.has('d')) return decode(p, data);
    const raw = o.value('w') ?? '76';
    if (!/^\d+$/.test(raw)) die(p, `invalid number '${raw}'`);
    const col = Number(raw);
    const text = Buffer.from(data).toString('base64');
    if (text === '') return 0;
    p.stdout.write(col === 0 ? text : `${text.match(new RegExp(`.{1,${col}}`, 'g'))?.join('\n') ?? ''}\n`);
    return 0;
  },
};

/** `read_base64`: four characters make three bytes; `=` ends; a partial group is an error. */
function decode(p: Parameters<Applet['main']>[0], data: Uint8Array): number {
  const chars = [...new TextDecoder().decode(data)].filter((c) => ALPHABET.includes(c) || c === '=');
  const end = chars.indexOf('=');
  const body = end === -1 ? chars : chars.slice(0, end);
  const whole = body.length - (body.length % 4);
  const out = Buffer.from(body.slice(0, end === -1 ? whole : body.length).join(''), 'base64');
  p.stdout.write(out);
  if (end === -1 && whole !== body.length) die(p, 'truncated input');
  return 0;
}
