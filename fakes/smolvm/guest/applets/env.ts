/** `env [-i0] [-u NAME]... [-] [NAME=VALUE]... [PROG ARGS]`: options stop at the first operand. */
import { die, type Applet } from './applet.ts';
import { getopt } from './getopt.ts';

export const env: Applet = {
  source: 'coreutils/env.c',
  usage: '[-i0] [-u NAME]... [-] [NAME=VALUE]... [PROG ARGS]',
  summary: 'Print current environment or run PROG after setting up environment',
  async main(p) {
    const o = getopt(p, p.argv.slice(1), { short: '+i0u:', long: { 'ignore-environment': 'i', null: '0', unset: 'u:' } });
    let args = o.operands;
    let clear = o.has('i');
    if (args[0] === '-') {
      clear = true;
      args = args.slice(1);
    }
    const childEnv: Record<string, string> = clear ? {} : { ...p.env };
    for (const name of o.values('u')) delete childEnv[name];
    while (args[0]?.includes('=')) {
      const a = args[0];
      childEnv[a.slice(0, a.indexOf('='))] = a.slice(a.indexOf('=') + 1);
      args = args.slice(1);
    }
    if (args.length === 0) {
      const end = o.has('0') ? '\0' : '\n';
      for (const [k, v] of Object.entries(childEnv)) p.stdout.write(`${k}=${v}${end}`);
      return 0;
    }
    const code = await p.spawn({ argv: args, env: childEnv, cwd: p.cwd, stdin: p.stdinRef, stdout: p.stdout, stderr: p.stderr });
    // BB_EXECVP_or_die.
    if (code === null) die(p, `can't execute '${args[0]}': No such file or directory`, 127);
    return code;
  },
};
