/** `pwd`: also ash's builtin (the shell answers `pwd` itself from its own cwd). */
import type { Applet } from './applet.ts';

export const pwd: Applet = {
  source: 'coreutils/pwd.c',
  usage: '',
  summary: 'Print the full filename of the current working directory',
  main(p) {
    p.stdout.write(`${p.cwd}\n`);
    return 0;
  },
};
