/**
 * `$((…))` as ash evaluates it (shell/math.c): 64-bit integers, decimal/octal/hex constants,
 * variables by name (unset or empty is 0), C operators with assignment, `**`, `?:` and `,`.
 * Errors: "arithmetic syntax error", "divide by zero".
 */
export class ArithError extends Error {}

export interface ArithScope {
  get(name: string): string | undefined;
  set(name: string, value: string): void;
}

const BINARY: ReadonlyArray<[number, readonly string[]]> = [
  [1, ['||']],
  [2, ['&&']],
  [3, ['|']],
  [4, ['^']],
  [5, ['&']],
  [6, ['==', '!=']],
  [7, ['<', '<=', '>', '>=']],
  [8, ['<<', '>>']],
  [9, ['+', '-']],
  [10, ['*', '/', '%']],
];
const TOKEN = /\s*(0[xX][0-9a-fA-F]+|\d+|[A-Za-z_][A-Za-z0-9_]*|\*\*=|<<=|>>=|\*\*|\+\+|--|[-+*/%&|^]=|&&|\|\||==|!=|<=|>=|<<|>>|[-+*/%()!~<>&|^?:=,])/y;
const MASK = (1n << 64n) - 1n;
const wrap = (n: bigint): bigint => BigInt.asIntN(64, n & MASK);

export function evaluate(text: string, scope: ArithScope): bigint {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  let pos = 0;
  while (pos < text.length) {
    if (/^\s*$/.test(text.slice(pos))) break;
    TOKEN.lastIndex = pos;
    const m = TOKEN.exec(text);
    if (!m) throw new ArithError('arithmetic syntax error');
    tokens.push(m[1] as string);
    pos = TOKEN.lastIndex;
  }
  if (tokens.length === 0) return 0n;
  let i = 0;
  const peek = (): string | undefined => tokens[i];
  function syntax(): never {
    throw new ArithError('arithmetic syntax error');
  }
  const number = (t: string): bigint => {
    if (/^0[xX]/.test(t)) return BigInt(t);
    if (/^0\d/.test(t)) {
      if (!/^0[0-7]+$/.test(t)) syntax();
      return BigInt(`0o${t.slice(1)}`);
    }
    return BigInt(t);
  };
  const variable = (name: string): bigint => {
    const v = (scope.get(name) ?? '').trim();
    if (v === '') return 0n;
    if (!/^[+-]?(0[xX][0-9a-fA-F]+|\d+)$/.test(v)) return evaluate(v, scope);
    const sign = v.startsWith('-') ? -1n : 1n;
    return sign * number(v.replace(/^[+-]/, ''));
  };
  const isName = (t: string | undefined): t is string => t !== undefined && /^[A-Za-z_]/.test(t);

  const comma = (): bigint => {
    let v = assignment();
    while (peek() === ',') {
      i++;
      v = assignment();
    }
    return v;
  };
  const assignment = (): bigint => {
    const name = peek();
    const op = tokens[i + 1];
    if (isName(name) && op !== undefined && /^([-+*/%&|^]|\*\*|<<|>>)?=$/.test(op) && op !== '==') {
      i += 2;
      const right = assignment();
      const value = op === '=' ? right : apply(op.slice(0, -1), variable(name), right);
      scope.set(name, String(value));
      return value;
    }
    return ternary();
  };
  const ternary = (): bigint => {
    const cond = binary(1);
    if (peek() !== '?') return cond;
    i++;
    const yes = comma();
    if (tokens[i++] !== ':') syntax();
    const no = ternary();
    return cond !== 0n ? yes : no;
  };
  const binary = (level: number): bigint => {
    if (level > BINARY.length) return power();
    let left = binary(level + 1);
    const ops = (BINARY[level - 1] as [number, readonly string[]])[1];
    while (ops.includes(peek() ?? '')) {
      const op = tokens[i++] as string;
      left = apply(op, left, binary(level + 1));
    }
    return left;
  };
  const power = (): bigint => {
    const base = unary();
    if (peek() !== '**') return base;
    i++;
    return apply('**', base, power());
  };
  const unary = (): bigint => {
    const t = peek();
    if (t === '-' || t === '+' || t === '!' || t === '~') {
      i++;
      const v = unary();
      return t === '-' ? wrap(-v) : t === '+' ? v : t === '!' ? (v === 0n ? 1n : 0n) : wrap(~v);
    }
    if (t === '++' || t === '--') {
      i++;
      const name = tokens[i++];
      if (!isName(name)) syntax();
      const v = wrap(variable(name) + (t === '++' ? 1n : -1n));
      scope.set(name, String(v));
      return v;
    }
    return postfix();
  };
  const postfix = (): bigint => {
    const t = tokens[i++];
    if (t === undefined) syntax();
    if (t === '(') {
      const v = comma();
      if (tokens[i++] !== ')') syntax();
      return v;
    }
    if (/^\d/.test(t)) return number(t);
    if (!isName(t)) syntax();
    const v = variable(t);
    if (peek() === '++' || peek() === '--') {
      scope.set(t, String(wrap(v + (tokens[i++] === '++' ? 1n : -1n))));
    }
    return v;
  };
  const result = comma();
  if (i < tokens.length) syntax();
  return result;
}

function apply(op: string, a: bigint, b: bigint): bigint {
  switch (op) {
    case '+':
      return wrap(a + b);
    case '-':
      return wrap(a - b);
    case '*':
      return wrap(a * b);
    case '/':
    case '%':
      if (b === 0n) throw new ArithError('divide by zero');
      return wrap(op === '/' ? a / b : a % b);
    case '**':
      if (b < 0n) throw new ArithError('exponent less than 0');
      return wrap(a ** b);
    case '<<':
      return wrap(a << (b & 63n));
    case '>>':
      return a >> (b & 63n);
    case '&':
      return a & b;
    case '|':
      return a | b;
    case '^':
      return a ^ b;
    case '&&':
      return a !== 0n && b !== 0n ? 1n : 0n;
    case '||':
      return a !== 0n || b !== 0n ? 1n : 0n;
    case '==':
      return a === b ? 1n : 0n;
    case '!=':
      return a !== b ? 1n : 0n;
    case '<':
      return a < b ? 1n : 0n;
    case '<=':
      return a <= b ? 1n : 0n;
    case '>':
      return a > b ? 1n : 0n;
    case '>=':
      return a >= b ? 1n : 0n;
    default:
      throw new ArithError('arithmetic syntax error');
  }
}
