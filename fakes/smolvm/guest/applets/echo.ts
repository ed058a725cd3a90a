/** `echo [-neE] [ARG]...`, also ash's builtin. Escapes are shared with printf. */
import type { Applet } from './applet.ts';
import { Bytes, unescapeInto } from './escapes.ts';

export const echo: Applet = {
  source: 'coreutils/echo.c',
  usage: '[-neE] [ARG]...',
  summary: 'Print ARGs to stdout',
  main(p) {
    // No getopt: only leading words made of n, e and E letters are options.
    let args = p.argv.slice(1);
    let newline = true;
    let escapes = false;
    while (args[0] && /^-[neE]+$/.test(args[0])) {
      for (const c of args[0].slice(1)) {
        if (c === 'n') newline = false;
        else escapes = c === 'e';
      }
      args = args.slice(1);
    }
    const out = new Bytes();
    const text = args.join(' ');
    if (escapes && unescapeInto(out, text, true)) newline = false;
    else if (!escapes) out.text(text);
    if (newline) out.text('\n');
    p.stdout.write(out.concat());
    return 0;
  },
};
