/**
 * `sh` / `ash`: busybox ash's command line (shell/ash.c `procargs`): `sh [-eufx] [-o OPT] -c
 * SCRIPT [NAME [ARG]...]`, `sh [OPTS] FILE [ARG]...`, or the script on stdin (`-s`). A name
 * given to -c, or a script file, becomes `$0` and puts `line N:` into error messages.
 */
import { posix } from 'node:path';
import { GUEST_ERRNO } from '../../texts.ts';
import { StdinRef, type GuestProgram } from '../process.ts';
import { ExitShell, Shell } from './interpreter.ts';

const LETTERS: Readonly<Record<string, 'errexit' | 'nounset' | 'xtrace' | 'noglob'>> = { e: 'errexit', u: 'nounset', x: 'xtrace', f: 'noglob' };
const NAMED = new Set(['errexit', 'nounset', 'xtrace', 'noglob', 'pipefail']);

export const shProgram: GuestProgram = async (p) => {
  const args = p.argv.slice(1);
  const options = { errexit: false, nounset: false, xtrace: false, noglob: false, pipefail: false };
  let command = false;
  let stdinScript = false;
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--' || a === '-') {
      i++;
      break;
    }
    if (a === '-o' || a === '+o') {
      const name = args[++i] ?? '';
      if (!NAMED.has(name)) {
        p.stderr.write(`sh: illegal option ${a} ${name}\n`);
        return 2;
      }
      options[name as keyof typeof options] = a === '-o';
      continue;
    }
    if (!/^[-+][a-zA-Z]+$/.test(a)) break;
    for (const f of a.slice(1)) {
      if (f === 'c') command = a[0] === '-';
      else if (f === 's') stdinScript = true;
      else if (LETTERS[f]) options[LETTERS[f]] = a[0] === '-';
      else if (!'il'.includes(f)) {
        p.stderr.write(`sh: illegal option ${a[0]}${f}\n`);
        return 2;
      }
    }
  }
  const fds = new Map([
    [0, { kind: 'in' as const, ref: p.stdinRef }],
    [1, { kind: 'out' as const, sink: p.stdout }],
    [2, { kind: 'out' as const, sink: p.stderr }],
  ]);
  let script: string;
  let shell: Shell;
  let firstLine = 1;
  if (command) {
    const text = args[i];
    if (text === undefined) {
      p.stderr.write('sh: -c requires an argument\n');
      return 2;
    }
    script = text;
    const name = args[i + 1];
    shell = new Shell(p, name ?? posix.basename(p.argv[0] ?? 'sh'), args.slice(i + 2), fds);
    shell.commandName = name;
    shell.flags = 'c';
    firstLine = 0; // ash counts -c lines from 0 (bash compat)
  } else if (args[i] !== undefined && !stdinScript) {
    const file = args[i] as string;
    try {
      script = p.fs.as(p.user, () => String(p.fs.vol.readFileSync(posix.resolve(p.cwd, file), 'utf8')));
    } catch (error) {
      const why = GUEST_ERRNO[(error as { code?: string }).code ?? ''] ?? String(error);
      p.stderr.write(`sh: can't open '${file}': ${why}\n`);
      return 2;
    }
    shell = new Shell(p, file, args.slice(i + 1), fds);
    shell.commandName = file;
  } else {
    script = new TextDecoder().decode(p.stdin);
    fds.set(0, { kind: 'in', ref: new StdinRef(new Uint8Array()) });
    shell = new Shell(p, posix.basename(p.argv[0] ?? 'sh'), args.slice(i), fds);
    shell.flags = 's';
  }
  Object.assign(shell.options, options);
  try {
    return await shell.main(script, firstLine);
  } catch (error) {
    if (error instanceof ExitShell) return error.status;
    throw error;
  }
};
