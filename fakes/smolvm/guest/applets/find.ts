/**
 * `find [-HL] [PATH]... [EXPRESSION]`: tests -name -iname -path -ipath -regex -type -empty
 * -size -perm -user -group -newer -mtime -mmin -executable, options -maxdepth -mindepth -depth
 * -xdev, actions -print -print0 -exec ;/+ -delete -prune -quit, with ! ( ) -a -o.
 */
import { posix } from 'node:path';
import { readGroups, readPasswd } from '../../images.ts';
import { complain, die, UsageFailure, type Applet, type AppletProcess } from './applet.ts';
import { abs, canAccess, errno, mtimeSeconds, tryStat, type Stat } from './files.ts';
import { removeFile } from './rm.ts';
import { compile } from './regex.ts';
import { fnmatchRegExp } from '../fnmatch.ts';

interface Node {
  readonly path: string;
  readonly st: Stat;
  readonly depth: number;
}
type Test = (n: Node) => boolean | Promise<boolean>;

const NEEDS_ARG = new Set([
  '-name',
  '-iname',
  '-path',
  '-ipath',
  '-wholename',
  '-iwholename',
  '-regex',
  '-type',
  '-size',
  '-perm',
  '-user',
  '-group',
  '-newer',
  '-mtime',
  '-mmin',
  '-maxdepth',
  '-mindepth',
  '-exec',
  '-links',
  '-inum',
]);

export const find: Applet = {
  source: 'findutils/find.c',
  usage: '[-HL] [PATH]... [OPTIONS] [ACTIONS]',
  summary: 'Search for files and perform actions on them.',
  async main(p) {
    let args = p.argv.slice(1);
    let follow = false;
    while (args[0] && /^-[HLP]+$/.test(args[0])) {
      if (/[HL]/.test(args[0])) follow = true;
      args = args.slice(1);
    }
    if (args[0] === '--') args = args.slice(1);
    let first = args.findIndex((a) => a.startsWith('-') || a === '!' || a === '(');
    if (first === -1) first = args.length;
    const paths = first === 0 ? ['.'] : args.slice(0, first);
    const plan = parse(p, args.slice(first));
    let status = 0;
    const visit = async (path: string, depth: number): Promise<void> => {
      const st = tryStat(p, path, follow);
      if (!st) {
        complain(p, `${path}: No such file or directory`);
        status = 1;
        return;
      }
      const node = { path, st, depth };
      let pruned = false;
      const act = async (): Promise<void> => {
        if (depth < plan.minDepth) return;
        plan.pruned = false;
        const result = await plan.test(node);
        pruned = plan.pruned;
        if (result && plan.printByDefault) p.stdout.write(`${path}\n`);
      };
      if (!plan.depthFirst) await act();
      if (st.isDirectory() && depth < plan.maxDepth && !pruned) {
        let names: string[] = [];
        try {
          names = p.fs.vol.readdirSync(abs(p, path)) as string[];
        } catch (error) {
          complain(p, `${path}: ${errno(error)}`);
          status = 1;
        }
        for (const name of names) await visit(path.endsWith('/') ? `${path}${name}` : `${path}/${name}`, depth + 1);
      }
      if (plan.depthFirst) await act();
    };
    try {
      for (const path of paths) await visit(path, 0);
    } catch (error) {
      if (!(error instanceof QuitFind)) throw error;
    }
    for (const [argv, files] of plan.pending) if (files.length) await runExec(p, [...argv, ...files]);
    return status;
  },
};

interface Plan {
  test: Test;
  printByDefault: boolean;
  maxDepth: number;
  minDepth: number;
  depthFirst: boolean;
  pruned: boolean;
  /** `-exec … {} +` batches, run once the walk is over. */
  pending: Array<[string[], string[]]>;
}

async function runExec(p: AppletProcess, argv: string[]): Promise<number> {
  const code = await p.spawn({ argv, env: p.env, cwd: p.cwd, stdin: p.stdinRef, stdout: p.stdout, stderr: p.stderr });
  if (code === null) {
    complain(p, `can't execute '${argv[0]}': No such file or directory`);
    return 127;
  }
  return code;
}

function parse(p: AppletProcess, args: string[]): Plan {
  const plan: Plan = { test: () => true, printByDefault: true, maxDepth: Number.POSITIVE_INFINITY, minDepth: 0, depthFirst: false, pruned: false, pending: [] };
  let i = 0;
  const number = (raw: string): number => {
    if (!/^\d+$/.test(raw)) die(p, `invalid number '${raw}'`);
    return Number(raw);
  };
  /** `+N` more than, `-N` less than, `N` exactly. */
  const compare = (raw: string, scale = 1): ((v: number) => boolean) => {
    const sign = raw[0] === '+' || raw[0] === '-' ? raw[0] : '';
    const n = number(raw.slice(sign.length)) * scale;
    return sign === '+' ? (v) => v > n : sign === '-' ? (v) => v < n : (v) => v === n;
  };
  const primary = (): Test => {
    const a = args[i++] as string;
    if (a === '(') {
      const t = or();
      if (args[i++] !== ')') die(p, "unpaired '('");
      return t;
    }
    if (a === '!' || a === '-not') {
      const t = primary();
      return async (n) => !(await t(n));
    }
    const arg = args[i];
    if (NEEDS_ARG.has(a)) {
      if (arg === undefined) die(p, `${a} requires an argument`);
      i++;
    }
    const value = arg as string;
    switch (a) {
      case '-name':
      case '-iname': {
        const re = fnmatchRegExp(value, a === '-iname');
        return (n) => re.test(posix.basename(n.path) || n.path);
      }
      case '-path':
      case '-wholename':
      case '-ipath':
      case '-iwholename': {
        const re = fnmatchRegExp(value, a.startsWith('-i'));
        return (n) => re.test(n.path);
      }
      case '-regex': {
        const re = compile(value);
        return (n) => new RegExp(`^(?:${re.source})$`).test(n.path);
      }
      case '-type': {
        if (!/^[fdlbcsp]$/.test(value)) die(p, `invalid argument '${value}' to '-type'`);
        return (n) => (value === 'f' ? n.st.isFile() : value === 'd' ? n.st.isDirectory() : value === 'l' ? n.st.isSymbolicLink() : false);
      }
      case '-empty':
        return (n) => (n.st.isDirectory() ? (p.fs.vol.readdirSync(abs(p, n.path)) as string[]).length === 0 : n.st.isFile() && Number(n.st.size) === 0);
      case '-executable':
        return (n) => canAccess(n.st, p, 1);
      case '-size': {
        const m = /^([+-]?\d+)([bckwMG]?)$/.exec(value);
        if (!m) die(p, `invalid argument '${value}' to '-size'`);
        const unit = { '': 512, b: 512, c: 1, k: 1024, w: 2, M: 1048576, G: 1073741824 }[m[2] ?? ''] ?? 512;
        const cmp = compare(m[1] as string);
        return (n) => cmp(Math.ceil(Number(n.st.isDirectory() ? 4096 : n.st.size) / unit));
      }
      case '-perm': {
        const sign = value[0] === '-' || value[0] === '/' || value[0] === '+' ? value[0] : '';
        if (!/^[0-7]+$/.test(value.slice(sign.length))) die(p, `invalid mode '${value}'`);
        const mask = Number.parseInt(value.slice(sign.length), 8);
        return (n) => {
          const mode = Number(n.st.mode) & 0o7777;
          return sign === '-' ? (mode & mask) === mask : sign ? (mode & mask) !== 0 : mode === mask;
        };
      }
      case '-user':
      case '-group': {
        const table = a === '-user' ? readPasswd(p.fs).map((u) => [u.name, u.uid] as const) : readGroups(p.fs).map((g) => [g.name, g.gid] as const);
        const id = /^\d+$/.test(value) ? Number(value) : table.find(([name]) => name === value)?.[1];
        if (id === undefined) die(p, `unknown ${a.slice(1)} ${value}`);
        return (n) => Number(a === '-user' ? n.st.uid : n.st.gid) === id;
      }
      case '-newer': {
        const ref = tryStat(p, value);
        if (!ref) die(p, `can't stat '${value}': No such file or directory`);
        return (n) => mtimeSeconds(n.st) > mtimeSeconds(ref); // func_newer compares st_mtime, whole seconds
      }
      case '-mtime':
      case '-mmin': {
        const unit = a === '-mtime' ? 86_400_000 : 60_000;
        const cmp = compare(value);
        return (n) => cmp(Math.floor((p.clock() - Number(n.st.mtimeMs)) / unit));
      }
      case '-maxdepth':
        plan.maxDepth = number(value);
        return () => true;
      case '-mindepth':
        plan.minDepth = number(value);
        return () => true;
      case '-depth':
        plan.depthFirst = true;
        return () => true;
      case '-xdev':
      case '-follow':
        return () => true;
      case '-print':
      case '-print0':
        plan.printByDefault = false;
        return (n) => {
          p.stdout.write(`${n.path}${a === '-print0' ? '\0' : '\n'}`);
          return true;
        };
      case '-prune':
        return () => {
          plan.pruned = true;
          return true;
        };
      case '-quit':
        plan.printByDefault = false;
        return () => {
          throw new QuitFind();
        };
      case '-delete':
        plan.printByDefault = false;
        plan.depthFirst = true;
        return (n) => removeFile(p, n.path, { force: false, recursive: false, verbose: false });
      case '-exec': {
        plan.printByDefault = false;
        const start = i - 1;
        let end = start;
        while (end < args.length && args[end] !== ';' && !(args[end] === '+' && args[end - 1] === '{}')) end++;
        if (end >= args.length) die(p, '-exec requires an argument');
        const argv = args.slice(start, end);
        const batch = args[end] === '+';
        i = end + 1;
        if (batch) {
          if (argv.filter((x) => x === '{}').length > 1) die(p, "only one '{}' allowed for -exec +");
          const entry: [string[], string[]] = [argv.slice(0, -1), []];
          plan.pending.push(entry);
          return (n) => {
            entry[1].push(n.path);
            return true;
          };
        }
        return async (n) =>
          (await runExec(
            p,
            argv.map((x) => x.replaceAll('{}', n.path)),
          )) === 0;
      }
      default:
        complain(p, `unrecognized: ${a}`);
        throw new UsageFailure();
    }
  };
  const and = (): Test => {
    let t = primary();
    while (i < args.length && args[i] !== '-o' && args[i] !== '-or' && args[i] !== ')') {
      if (args[i] === '-a' || args[i] === '-and') i++;
      const left = t;
      const right = primary();
      t = async (n) => (await left(n)) && right(n);
    }
    return t;
  };
  const or = (): Test => {
    let t = and();
    while (args[i] === '-o' || args[i] === '-or') {
      i++;
      const left = t;
      const right = and();
      t = async (n) => (await left(n)) || right(n);
    }
    return t;
  };
  if (args.length) plan.test = or();
  if (i < args.length) die(p, `unrecognized: ${args[i]}`);
  return plan;
}

class QuitFind extends Error {}
