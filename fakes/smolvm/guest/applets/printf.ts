/** `printf FORMAT [ARG]...`, also ash's builtin: the format is reused while arguments remain. */
import { complain, UsageFailure, type Applet } from './applet.ts';
import { Bytes, unescapeInto } from './escapes.ts';

export const printf: Applet = {
  source: 'coreutils/printf.c',
  usage: 'FORMAT [ARG]...',
  summary: 'Format and print ARG(s) according to FORMAT (a-la C printf)',
  main(p) {
    let argv = p.argv.slice(1);
    if (argv[0] === '--') argv = argv.slice(1);
    const [format, ...args] = argv;
    if (format === undefined) {
      // As ash's builtin (applet_name "sh") it answers like bash.
      if (p.name !== 'printf') {
        complain(p, 'usage: printf FORMAT [ARGUMENT...]');
        return 2;
      }
      throw new UsageFailure();
    }
    let status = 0;
    const number = (raw: string | undefined): number => {
      if (raw === undefined || raw === '') return 0;
      if (/^['"]./.test(raw)) return raw.codePointAt(1) ?? 0;
      const n = /^\s*[+-]?(0x[0-9a-f]+|0[0-7]*|\d+)$/i.test(raw)
        ? Number(raw.trim().replace(/^([+-]?)0([0-7]+)$/, (_m, s: string, o: string) => `${s}${Number.parseInt(o, 8)}`))
        : Number.NaN;
      if (Number.isNaN(n)) {
        complain(p, `invalid number '${raw}'`);
        status = 1;
        return 0;
      }
      return n;
    };
    const out = new Bytes();
    const spec = /%([-+ 0#]*)(\d*|\*)(?:\.(\d*|\*))?([sdiuxXocbeEfgG%])/g;
    let index = 0;
    let stop = false;
    do {
      const before = index;
      let last = 0;
      for (const m of format.matchAll(spec)) {
        stop = unescapeInto(out, format.slice(last, m.index), false);
        if (stop) break;
        last = m.index + m[0].length;
        const [, flags = '', rawWidth = '', rawPrecision, conv] = m;
        if (conv === '%') {
          out.text('%');
          continue;
        }
        const width = rawWidth === '*' ? number(args[index++]) : Number(rawWidth || 0);
        const precision = rawPrecision === '*' ? number(args[index++]) : rawPrecision === undefined ? undefined : Number(rawPrecision || 0);
        const arg = args[index++];
        if (conv === 'b') {
          stop = unescapeInto(out, arg ?? '', true);
          if (stop) break;
          continue;
        }
        let s: string;
        if (conv === 's') s = precision !== undefined ? (arg ?? '').slice(0, precision) : (arg ?? '');
        else if (conv === 'c') s = (arg ?? '').slice(0, 1);
        else if ('eEfgG'.includes(conv ?? '')) {
          const n = arg === undefined ? 0 : Number(arg);
          const digits = precision ?? 6;
          s = conv === 'f' ? n.toFixed(digits) : conv === 'e' || conv === 'E' ? n.toExponential(digits) : String(Number(n.toPrecision(digits || 1)));
          if (conv === 'E' || conv === 'G') s = s.toUpperCase();
        } else {
          const n = Math.trunc(number(arg));
          s = conv === 'x' ? n.toString(16) : conv === 'X' ? n.toString(16).toUpperCase() : conv === 'o' ? n.toString(8) : String(n);
          if (conv === 'u' && n < 0) s = (BigInt(n) + 2n ** 64n).toString();
          if (precision !== undefined) s = s.replace(/^(-?)(\d*)$/, (_m, sign: string, d: string) => sign + d.padStart(precision, '0'));
          if (flags.includes('+') && n >= 0 && /[di]/.test(conv ?? '')) s = `+${s}`;
          else if (flags.includes(' ') && n >= 0 && /[di]/.test(conv ?? '')) s = ` ${s}`;
        }
        if (s.length < width) {
          if (flags.includes('-')) s = s.padEnd(width);
          else if (flags.includes('0') && conv !== 's' && conv !== 'c')
            s = s.replace(/^([+-]?)(.*)$/, (_m, sign: string, rest: string) => sign + rest.padStart(width - sign.length, '0'));
          else s = s.padStart(width);
        }
        out.text(s);
      }
      if (stop) break;
      if (unescapeInto(out, format.slice(last), false)) break;
      if (index === before) break;
    } while (index < args.length);
    p.stdout.write(out.concat());
    return status;
  },
};
