/** `printenv [VARIABLE]...`: no options; exit 1 when a named variable is unset. */
import type { Applet } from './applet.ts';

export const printenv: Applet = {
  source: 'coreutils/printenv.c',
  usage: '[VARIABLE]...',
  summary: 'Print environment VARIABLEs.',
  main(p) {
    const names = p.argv.slice(1);
    if (names.length === 0) {
      for (const [k, v] of Object.entries(p.env)) p.stdout.write(`${k}=${v}\n`);
      return 0;
    }
    let status = 0;
    for (const name of names) {
      const value = p.env[name];
      if (value === undefined) status = 1;
      else p.stdout.write(`${value}\n`);
    }
    return status;
  },
};
