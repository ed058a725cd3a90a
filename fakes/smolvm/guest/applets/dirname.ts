/** `dirname FILENAME`. */
import { posix } from 'node:path';
import { UsageFailure, type Applet } from './applet.ts';

export const dirname: Applet = {
  source: 'coreutils/dirname.c',
  usage: 'FILENAME',
  summary: 'Strip non-directory suffix from FILENAME',
  main(p) {
    // libbb `single_argv`: one operand, an optional `--` before it.
    const args = p.argv[1] === '--' ? p.argv.slice(2) : p.argv.slice(1);
    if (args.length !== 1) throw new UsageFailure();
    p.stdout.write(`${posix.dirname(args[0] as string)}\n`);
    return 0;
  },
};
