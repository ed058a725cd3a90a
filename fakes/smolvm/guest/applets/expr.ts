/**
 * `expr EXPRESSION`: `|`, `&`, comparisons, `+ -`, `* / %`, `:` (an anchored basic regex),
 * `match substr index length quote`, parentheses. Exit 1 when the result is null or 0, 2 on errors.
 */
import { complain, die, type Applet, type AppletProcess } from './applet.ts';
import { compile, RegexError } from './regex.ts';

type Value = bigint | string;

export const expr: Applet = {
  source: 'coreutils/expr.c',
  usage: 'EXPRESSION',
  summary: 'Print the value of EXPRESSION',
  usageExit: 2,
  main(p) {
    const args = p.argv.slice(1);
    if (args.length === 0) die(p, 'too few arguments', 2);
    let i = 0;
    const fail = (message: string): never => die(p, message, 2);
    const next = (token: string): boolean => args[i] === token;
    const toInt = (v: Value): bigint | undefined => (typeof v === 'bigint' ? v : /^[ \t]*[+-]?\d+$/.test(v) ? BigInt(v) : undefined);
    const str = (v: Value): string => (typeof v === 'bigint' ? String(v) : v);
    const isNull = (v: Value): boolean => (typeof v === 'bigint' ? v === 0n : v === '' || v === '0');
    const arithmetic = (l: Value, r: Value, op: string): bigint => {
      const [a, b] = [toInt(l), toInt(r)];
      if (a === undefined || b === undefined) fail('non-numeric argument');
      const [x, y] = [a as bigint, b as bigint];
      if (op === '+') return x + y;
      if (op === '-') return x - y;
      if (op === '*') return x * y;
      if (y === 0n) fail('division by zero');
      return op === '/' ? x / y : x % y;
    };
    const eval7 = (): Value => {
      if (i >= args.length) fail('syntax error');
      if (next('(')) {
        i++;
        const v = evalOr();
        if (!next(')')) fail('syntax error');
        i++;
        return v;
      }
      if (next(')')) fail('syntax error');
      return args[i++] as string;
    };
    const eval6 = (): Value => {
      const key = args[i];
      if (!['quote', 'length', 'match', 'index', 'substr'].includes(key ?? '')) return eval7();
      i++;
      if (key === 'quote') {
        if (i >= args.length) fail('syntax error');
        return args[i++] as string;
      }
      if (key === 'length') return BigInt(str(eval6()).length);
      const l = eval6();
      if (key === 'match') return colon(p, l, eval6());
      if (key === 'index') {
        const [s, chars] = [str(l), str(eval6())];
        const at = [...s].findIndex((c) => chars.includes(c));
        return BigInt(at + 1);
      }
      const [from, len] = [toInt(eval6()), toInt(eval6())];
      const s = str(l);
      if (from === undefined || len === undefined || from > BigInt(s.length) || from <= 0n || len <= 0n) return '';
      return s.slice(Number(from) - 1, Number(from - 1n + len));
    };
    const eval5 = (): Value => {
      let l = eval6();
      while (next(':')) {
        i++;
        l = colon(p, l, eval6());
      }
      return l;
    };
    const binary =
      (lower: () => Value, ops: string[], apply: (l: Value, r: Value, op: string) => Value): (() => Value) =>
      () => {
        let l = lower();
        while (ops.includes(args[i] ?? '')) {
          const op = args[i++] as string;
          l = apply(l, lower(), op);
        }
        return l;
      };
    const eval4 = binary(eval5, ['*', '/', '%'], arithmetic);
    const eval3 = binary(eval4, ['+', '-'], arithmetic);
    const eval2 = binary(eval3, ['<', '<=', '=', '==', '!=', '>=', '>'], (l, r, op) => {
      const [a, b] = [toInt(l), toInt(r)];
      const c = a !== undefined && b !== undefined ? (a < b ? -1 : a > b ? 1 : 0) : Buffer.compare(Buffer.from(str(l)), Buffer.from(str(r)));
      const result = { '<': c < 0, '<=': c <= 0, '=': c === 0, '==': c === 0, '!=': c !== 0, '>=': c >= 0, '>': c > 0 }[op];
      return result ? 1n : 0n;
    });
    const eval1 = binary(eval2, ['&'], (l, r) => (isNull(l) || isNull(r) ? 0n : l));
    const evalOr = binary(eval1, ['|'], (l, r) => (isNull(l) ? r : l));
    const v = evalOr();
    if (i < args.length) fail('syntax error');
    p.stdout.write(`${str(v)}\n`);
    return isNull(v) ? 1 : 0;
  },
};

/** `docolon`: match at the start; `\(…\)` yields the group, else the match length. */
function colon(p: AppletProcess, subject: Value, pattern: Value): Value {
  const [s, re] = [String(subject), String(pattern)];
  if (re.startsWith('^')) {
    complain(p, `warning: '${re}': using '^' as the first character\nof a basic regular expression is not portable; it is ignored`);
  }
  let compiled: RegExp;
  try {
    compiled = compile(re);
  } catch (error) {
    if (error instanceof RegexError) die(p, `bad regex '${re}': ${error.message}`, 2);
    throw error;
  }
  const groups = /\\\(/.test(re);
  const m = new RegExp(`^(?:${compiled.source})`).exec(s);
  if (!m) return groups ? '' : 0n;
  return groups ? (m[1] ?? '') : BigInt(m[0].length);
}
