/**
 * `test EXPR` / `[ EXPR ]`, also ash's builtins: POSIX's special cases by argument count, then
 * `-o`/`-a`/`!`/`( )` over unary and binary primaries. Errors exit 2.
 */
import { complain, type Applet, type AppletProcess } from './applet.ts';
import { canAccess, mtimeSeconds, tryStat } from './files.ts';

class TestError extends Error {}

const UNARY = new Set(['-e', '-f', '-d', '-s', '-r', '-w', '-x', '-z', '-n', '-L', '-h', '-b', '-c', '-p', '-S', '-u', '-g', '-k', '-t', '-O', '-G']);
const BINARY = new Set(['=', '==', '!=', '<', '>', '-eq', '-ne', '-lt', '-le', '-gt', '-ge', '-nt', '-ot', '-ef']);

export const test: Applet = {
  source: 'coreutils/test.c',
  usage: '',
  summary: '',
  main(p) {
    let args = p.argv.slice(1);
    if ((p.argv[0] ?? '').endsWith('[')) {
      if (args.at(-1) !== ']') {
        complain(p, 'missing ]');
        return 2;
      }
      args = args.slice(0, -1);
    }
    try {
      return evaluate(p, args) ? 0 : 1;
    } catch (error) {
      if (error instanceof TestError) {
        complain(p, error.message);
        return 2;
      }
      throw error;
    }
  },
};

function evaluate(p: AppletProcess, all: string[]): boolean {
  let args = all;
  let negate = false;
  // POSIX.2 4.62.4: the argument count decides before the general grammar does.
  for (;;) {
    if (args.length === 0) return negate;
    if (args.length === 1) return (args[0] !== '') !== negate;
    if (args.length === 3 && BINARY.has(args[1] as string)) return binary(p, args[0] as string, args[1] as string, args[2] as string) !== negate;
    if (args.length === 4 && args[0] === '(' && args[3] === ')') args = args.slice(1, 3);
    if (args[0] !== '!') break;
    args = args.slice(1);
    negate = !negate;
  }
  let pos = 0;
  const peek = (): string | undefined => args[pos];
  const oexpr = (): boolean => {
    let r = aexpr();
    while (peek() === '-o') {
      pos++;
      r = aexpr() || r;
    }
    return r;
  };
  const aexpr = (): boolean => {
    let r = nexpr();
    while (peek() === '-a') {
      pos++;
      r = nexpr() && r;
    }
    return r;
  };
  const nexpr = (): boolean => {
    if (peek() === '!') {
      pos++;
      return !nexpr();
    }
    return primary();
  };
  const primary = (): boolean => {
    const t = peek();
    if (t === undefined) throw new TestError('argument expected');
    if (t === '(') {
      pos++;
      const r = oexpr();
      if (peek() !== ')') throw new TestError('closing paren expected');
      pos++;
      return r;
    }
    const op = args[pos + 1];
    if (op !== undefined && BINARY.has(op)) {
      const right = args[pos + 2];
      if (right === undefined) throw new TestError(`${op}: argument expected`);
      pos += 3;
      return binary(p, t, op, right);
    }
    if (UNARY.has(t) && op !== undefined) {
      pos += 2;
      return unary(p, t, op);
    }
    pos++;
    return t !== '';
  };
  const r = oexpr();
  if (pos < args.length) throw new TestError(`${args[pos]}: unknown operand`);
  return r !== negate;
}

/** `getn`: a decimal integer, surrounding blanks allowed. */
function number(s: string): bigint {
  if (!/^\s*[+-]?\d+\s*$/.test(s)) throw new TestError(`${s}: bad number`);
  const n = BigInt(s.trim());
  if (n > 2n ** 63n - 1n || n < -(2n ** 63n)) throw new TestError(`${s}: out of range`);
  return n;
}

function binary(p: AppletProcess, l: string, op: string, r: string): boolean {
  switch (op) {
    case '=':
    case '==':
      return l === r;
    case '!=':
      return l !== r;
    case '<':
      return l < r;
    case '>':
      return l > r;
    case '-nt':
    case '-ot': {
      // busybox's binop: false when either stat fails (not bash's rule), whole-second st_mtime.
      const a = tryStat(p, l);
      const b = tryStat(p, r);
      if (!a || !b) return false;
      const [sa, sb] = [mtimeSeconds(a), mtimeSeconds(b)];
      return op === '-nt' ? sa > sb : sa < sb;
    }
    case '-ef': {
      const a = tryStat(p, l);
      const b = tryStat(p, r);
      return a !== undefined && b !== undefined && a.ino === b.ino;
    }
  }
  const [a, b] = [number(l), number(r)];
  return { '-eq': a === b, '-ne': a !== b, '-lt': a < b, '-le': a <= b, '-gt': a > b, '-ge': a >= b }[op] ?? false;
}

function unary(p: AppletProcess, op: string, arg: string): boolean {
  if (op === '-z') return arg === '';
  if (op === '-n') return arg !== '';
  if (op === '-t') return false; // no terminal in the fake
  const st = tryStat(p, arg, op !== '-L' && op !== '-h');
  if (!st) return false;
  const mode = Number(st.mode);
  switch (op) {
    case '-e':
      return true;
    case '-f':
      return st.isFile();
    case '-d':
      return st.isDirectory();
    case '-s':
      return Number(st.size) > 0;
    case '-r':
      return canAccess(st, p, 4);
    case '-w':
      return canAccess(st, p, 2);
    case '-x':
      return canAccess(st, p, 1);
    case '-L':
    case '-h':
      return st.isSymbolicLink();
    case '-u':
      return (mode & 0o4000) !== 0;
    case '-g':
      return (mode & 0o2000) !== 0;
    case '-k':
      return (mode & 0o1000) !== 0;
    case '-O':
      return Number(st.uid) === p.user.uid;
    case '-G':
      return Number(st.gid) === p.user.gid;
    default:
      return false; // -b -c -p -S: the fake has no device, fifo or socket files
  }
}
