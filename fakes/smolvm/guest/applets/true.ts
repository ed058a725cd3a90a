/** `true` and `false` ignore their arguments (coreutils/true.c, coreutils/false.c). */
import type { Applet } from './applet.ts';

export const trueApplet: Applet = {
  source: 'coreutils/true.c',
  usage: '',
  summary: 'Return an exit code of TRUE (0)',
  main: () => 0,
};

export const falseApplet: Applet = {
  source: 'coreutils/false.c',
  usage: '',
  summary: 'Return an exit code of FALSE (1)',
  main: () => 1,
};
