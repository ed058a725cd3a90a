/**
 * ash's builtins (shell/ash.c `builtintab`) that scripts use: they run inside the shell, change
 * its state, and report errors as `sh: NAME: line N: …`. echo, printf, test/[, true and false
 * are busybox's applets run in-process, so their messages say `sh:`.
 */
import { posix } from 'node:path';
import { APPLETS, program } from '../applets/index.ts';
import type { GuestProcess } from '../process.ts';
import { inRef, outSink } from './io.ts';
import type { Shell, Variable } from './interpreter.ts';
import { ExitShell, LoopSignal, ReturnSignal } from './signals.ts';

export type Builtin = (sh: Shell, argv: string[]) => Promise<number> | number;

/** POSIX special builtins: their prefix assignments stay, their errors end the shell. */
export const SPECIAL_BUILTINS = new Set([
  ':',
  '.',
  'break',
  'continue',
  'eval',
  'exec',
  'exit',
  'export',
  'readonly',
  'return',
  'set',
  'shift',
  'trap',
  'unset',
]);

const out = (sh: Shell, text: string): void => outSink(sh.fds, 1).write(text);

/** An applet as an ash builtin: the shell's fds, cwd and exported variables. */
function applet(name: string): Builtin {
  const entry = APPLETS[name] as NonNullable<(typeof APPLETS)[string]>;
  return async (sh, argv) => {
    const run = program(await entry.load(), 'sh');
    const stdinRef = inRef(sh.fds);
    let stdin: Uint8Array | undefined;
    const process: GuestProcess = Object.assign(Object.create(sh.p) as GuestProcess, {
      argv,
      env: sh.environment(),
      cwd: sh.cwd,
      stdinRef,
      stdout: outSink(sh.fds, 1),
      stderr: outSink(sh.fds, 2),
    });
    Object.defineProperty(process, 'stdin', { get: () => (stdin ??= stdinRef.take()) });
    return run(process);
  };
}

function number(sh: Shell, name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) sh.fatal(`Illegal number: ${raw}`, name);
  return Number(raw);
}

const cd: Builtin = (sh, argv) => {
  let dir = argv[1] ?? sh.get('HOME') ?? '/';
  if (dir === '-') {
    dir = sh.get('OLDPWD') ?? sh.cwd;
    out(sh, `${dir}\n`);
  }
  const target = posix.resolve(sh.cwd, dir);
  const ok = sh.p.fs.as(sh.p.user, () => {
    try {
      return sh.p.fs.vol.statSync(target).isDirectory() ? '' : 'Not a directory';
    } catch (error) {
      return (error as { code?: string }).code === 'EACCES' ? 'Permission denied' : 'No such file or directory';
    }
  });
  if (ok) {
    sh.report(`can't cd to ${dir}: ${ok}`, 'cd');
    return 2;
  }
  sh.set('OLDPWD', sh.cwd, { export: true });
  sh.cwd = target;
  sh.set('PWD', target, { export: true });
  return 0;
};

const exportOrReadonly =
  (attribute: 'exported' | 'readonly'): Builtin =>
  (sh, argv) => {
    const args = argv.slice(1).filter((a) => a !== '-p' && a !== '--');
    if (args.length === 0) {
      for (const [k, v] of [...sh.vars].sort(([a], [b]) => (a < b ? -1 : 1))) {
        if (v[attribute]) out(sh, `${attribute === 'exported' ? 'export' : 'readonly'} ${k}='${v.value.replace(/'/g, "'\\''")}'\n`);
      }
      return 0;
    }
    for (const a of args) {
      const eq = a.indexOf('=');
      const name = eq === -1 ? a : a.slice(0, eq);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) sh.fatal(`${name}: bad variable name`, argv[0]);
      if (eq !== -1) sh.set(name, a.slice(eq + 1));
      const v = sh.vars.get(name) ?? { value: '', exported: false, readonly: false };
      if (!sh.vars.has(name) && attribute === 'exported') continue; // `export X` of an unset X marks nothing visible
      sh.vars.set(name, { ...v, [attribute]: true });
    }
    return 0;
  };

const OPTION_NAMES: Readonly<Record<string, keyof Shell['options']>> = {
  errexit: 'errexit',
  nounset: 'nounset',
  xtrace: 'xtrace',
  noglob: 'noglob',
  pipefail: 'pipefail',
};
const OPTION_LETTERS: Readonly<Record<string, keyof Shell['options']>> = { e: 'errexit', u: 'nounset', x: 'xtrace', f: 'noglob' };

const set: Builtin = (sh, argv) => {
  const args = argv.slice(1);
  if (args.length === 0) {
    for (const [k, v] of [...sh.vars].sort(([a], [b]) => (a < b ? -1 : 1))) out(sh, `${k}='${v.value.replace(/'/g, "'\\''")}'\n`);
    return 0;
  }
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--') {
      sh.positional = args.slice(i + 1);
      return 0;
    }
    if (a === '-o' || a === '+o') {
      const name = args[++i];
      if (name === undefined) {
        for (const key of ['errexit', 'noglob', 'nounset', 'pipefail', 'xtrace'] as const) out(sh, `${key.padEnd(16)}${sh.options[key] ? 'on' : 'off'}\n`);
        continue;
      }
      const option = OPTION_NAMES[name];
      if (!option) {
        sh.report(`illegal option ${a} ${name}`, 'set');
        return 2;
      }
      sh.options[option] = a === '-o';
      continue;
    }
    if (!/^[-+][a-zA-Z]+$/.test(a)) break;
    for (const letter of a.slice(1)) {
      const option = OPTION_LETTERS[letter];
      if (!option) {
        sh.report(`illegal option ${a[0]}${letter}`, 'set');
        return 2;
      }
      sh.options[option] = a[0] === '-';
    }
  }
  if (i < args.length) sh.positional = args.slice(i);
  return 0;
};

const read: Builtin = (sh, argv) => {
  let raw = false;
  let i = 1;
  for (; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '-r') raw = true;
    else if (a === '-p') {
      // The prompt goes to a terminal only.
      out(sh, '');
      i++;
    } else if (a === '-s') continue;
    else if (a === '-t') i++;
    else if (a.startsWith('-') && a !== '-') {
      sh.report(`read: illegal option ${a}`, 'read');
      return 2;
    } else break;
  }
  const names = argv.slice(i);
  if (names.length === 0) names.push('REPLY');
  const stdin = inRef(sh.fds);
  let text = '';
  let eof = false;
  for (;;) {
    const line = stdin.line();
    if (line === null) {
      eof = true;
      break;
    }
    if (!raw && line.text.endsWith('\\') && !line.eof) {
      text += line.text.slice(0, -1);
      continue;
    }
    text += line.text;
    eof = line.eof;
    break;
  }
  if (!raw) text = text.replace(/\\(.)/g, '$1');
  const ifs = sh.get('IFS') ?? ' \t\n';
  const white = [...ifs].filter((c) => ' \t\n'.includes(c));
  const isIfs = (c: string): boolean => ifs.includes(c);
  let rest = text.replace(new RegExp(`^[${white.join('').replace(/\t/, '\\t').replace(/\n/, '\\n')}]+`), '');
  names.forEach((name, k) => {
    if (k === names.length - 1) {
      let value = rest;
      while (value && white.includes(value.at(-1) as string)) value = value.slice(0, -1);
      sh.set(name, value);
      return;
    }
    let end = 0;
    while (end < rest.length && !isIfs(rest[end] as string)) end++;
    sh.set(name, rest.slice(0, end));
    rest = rest.slice(end);
    // The separator: IFS blanks around at most one other IFS character.
    while (rest && white.includes(rest[0] as string)) rest = rest.slice(1);
    if (rest && isIfs(rest[0] as string)) rest = rest.slice(1);
    while (rest && white.includes(rest[0] as string)) rest = rest.slice(1);
  });
  return eof && text === '' ? 1 : eof ? 1 : 0;
};

/** `command -v/-V`, `type`: how a name would run. */
function describe(sh: Shell, name: string, verbose: boolean): string | undefined {
  if (sh.functions.has(name)) return verbose ? `${name} is a function` : name;
  if (BUILTINS[name]) return verbose ? `${name} is a ${SPECIAL_BUILTINS.has(name) ? 'special ' : ''}shell builtin` : name;
  const path = sh.p.which(name, sh.get('PATH'));
  if (path) return verbose ? `${name} is ${path}` : path;
  return undefined;
}

const command: Builtin = async (sh, argv) => {
  const [, flag, ...names] = argv;
  if (flag === '-v' || flag === '-V') {
    let status = 0;
    for (const name of flag === '-V' ? names.slice(0, 1) : names) {
      const found = describe(sh, name, flag === '-V');
      if (found) out(sh, `${found}\n`);
      else {
        if (flag === '-V') outSink(sh.fds, 2).write(`${name}: not found\n`);
        status = 127;
      }
    }
    return status;
  }
  const args = argv.slice(1);
  if (args.length === 0) return 0;
  const builtin = BUILTINS[args[0] as string];
  return builtin ? builtin(sh, args) : sh.external(args, {});
};

const type: Builtin = (sh, argv) => {
  let status = 0;
  for (const name of argv.slice(1)) {
    const found = describe(sh, name, true);
    if (found) out(sh, `${found}\n`);
    else {
      out(sh, `${name}: not found\n`);
      status = 127;
    }
  }
  return status;
};

const dot: Builtin = async (sh, argv) => {
  const file = argv[1];
  if (file === undefined) return 0;
  const path = file.includes('/') ? posix.resolve(sh.cwd, file) : sh.p.which(file, sh.get('PATH'));
  const text =
    path === undefined
      ? undefined
      : sh.p.fs.as(sh.p.user, () => {
          try {
            return String(sh.p.fs.vol.readFileSync(path, 'utf8'));
          } catch {
            return undefined;
          }
        });
  if (text === undefined) return sh.fatal(`can't open '${file}': No such file or directory`, argv[0]);
  const saved = sh.positional;
  if (argv.length > 2) sh.positional = argv.slice(2);
  try {
    return await sh.runScript(text, 1);
  } finally {
    sh.positional = saved;
  }
};

const trap: Builtin = (sh, argv) => {
  if (argv.length === 1) {
    for (const [signal, action] of sh.traps) out(sh, `trap -- '${action.replace(/'/g, "'\\''")}' ${signal}\n`);
    return 0;
  }
  const [, action = '', ...signals] = argv;
  for (const raw of signals) {
    const signal = raw === '0' ? 'EXIT' : raw.replace(/^SIG/, '');
    if (action === '-') sh.traps.delete(signal);
    else sh.traps.set(signal, action);
  }
  return 0;
};

const umask: Builtin = (sh, argv) => {
  const mode = argv[1];
  if (mode === undefined) {
    out(sh, `${sh.umask.toString(8).padStart(4, '0')}\n`);
    return 0;
  }
  if (!/^[0-7]{1,4}$/.test(mode)) sh.fatal(`Illegal mode: ${mode}`, 'umask');
  sh.umask = Number.parseInt(mode, 8);
  return 0;
};

const loopControl =
  (kind: 'break' | 'continue'): Builtin =>
  (sh, argv) => {
    const levels = number(sh, kind, argv[1], 1);
    if (sh.loopDepth === 0) return 0;
    throw new LoopSignal(kind, Math.min(levels, sh.loopDepth));
  };

export const BUILTINS: Readonly<Record<string, Builtin>> = {
  ':': () => 0,
  true: applet('true'),
  false: applet('false'),
  echo: applet('echo'),
  printf: applet('printf'),
  test: applet('test'),
  '[': applet('['),
  pwd: (sh) => {
    out(sh, `${sh.cwd}\n`);
    return 0;
  },
  cd,
  export: exportOrReadonly('exported'),
  readonly: exportOrReadonly('readonly'),
  unset: (sh, argv) => {
    const functions = argv[1] === '-f';
    for (const name of argv.slice(1).filter((a) => a !== '-v' && a !== '-f')) {
      if (functions) sh.functions.delete(name);
      else if (sh.vars.get(name)?.readonly) sh.fatal(`${name}: is read only`, 'unset');
      else sh.vars.delete(name);
    }
    return 0;
  },
  set,
  shift: (sh, argv) => {
    const n = number(sh, 'shift', argv[1], 1);
    if (n > sh.positional.length) return 1;
    sh.positional = sh.positional.slice(n);
    return 0;
  },
  exit: (sh, argv) => {
    throw new ExitShell(number(sh, 'exit', argv[1], sh.status) & 0xff);
  },
  return: (sh, argv) => {
    throw new ReturnSignal(number(sh, 'return', argv[1], sh.status) & 0xff);
  },
  break: loopControl('break'),
  continue: loopControl('continue'),
  local: (sh, argv) => {
    const frame = sh.locals.at(-1);
    if (!frame) return sh.fatal('not in a function', 'local');
    for (const a of argv.slice(1)) {
      const eq = a.indexOf('=');
      const name = eq === -1 ? a : a.slice(0, eq);
      const current: Variable | undefined = sh.vars.get(name);
      if (!frame.has(name)) frame.set(name, current ? { ...current } : undefined);
      if (eq !== -1) sh.set(name, a.slice(eq + 1));
    }
    return 0;
  },
  read,
  eval: (sh, argv) => sh.runScript(argv.slice(1).join(' '), sh.line, true, 'eval'),
  '.': dot,
  source: dot,
  command,
  type,
  exec: async (sh, argv) => {
    if (argv.length === 1) return 0; // redirections alone: the interpreter keeps them
    const args = argv.slice(1);
    const builtin = BUILTINS[args[0] as string];
    if (builtin) throw new ExitShell(await builtin(sh, args));
    const code = await sh.p.spawn({
      argv: args,
      env: sh.environment(),
      cwd: sh.cwd,
      stdin: inRef(sh.fds),
      stdout: outSink(sh.fds, 1),
      stderr: outSink(sh.fds, 2),
    });
    if (code === null) {
      sh.report(`${args[0]}: not found`, 'exec');
      throw new ExitShell(127);
    }
    throw new ExitShell(code);
  },
  trap,
  umask,
  wait: () => 0,
};
