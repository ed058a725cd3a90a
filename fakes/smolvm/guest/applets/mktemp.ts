/** `mktemp [-dqtu] [-p DIR] [TEMPLATE]`: the template must end in XXXXXX (musl `mkstemp`). */
import { posix } from 'node:path';
import { randomBytes } from 'node:crypto';
import { complain, UsageFailure, type Applet } from './applet.ts';
import { abs, errno } from './files.ts';
import { getopt } from './getopt.ts';

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export const mktemp: Applet = {
  source: 'coreutils/mktemp.c',
  usage: '[-dt] [-p DIR] [TEMPLATE]',
  summary: 'Create a temporary file with name based on TEMPLATE and print its name.',
  main(p) {
    const o = getopt(p, p.argv.slice(1), { short: 'dqtp:u', long: { directory: 'd', quiet: 'q', 'dry-run': 'u', tmpdir: 'tmpdir::' } });
    if (o.operands.length > 1) throw new UsageFailure();
    let dir = o.value('p') ?? o.value('tmpdir') ?? (p.env.TMPDIR || '/tmp');
    if (o.has('tmpdir') && !o.value('tmpdir')) dir = p.env.TMPDIR || '/tmp';
    let template = o.operands[0];
    let prefixed = o.has('t') || o.has('p') || o.has('tmpdir');
    if (template === undefined) {
      template = 'tmp.XXXXXX';
      prefixed = true;
    }
    const path = prefixed ? posix.join(dir, template) : template;
    const fail = (why: string): number => {
      if (!o.has('q')) complain(p, why);
      return 1;
    };
    if (!path.endsWith('XXXXXX')) return fail('Invalid argument');
    for (let attempt = 0; attempt < 100; attempt++) {
      const name = path.slice(0, -6) + [...randomBytes(6)].map((b) => LETTERS[b % LETTERS.length]).join('');
      const full = abs(p, name);
      if (p.fs.vol.existsSync(full)) continue;
      try {
        if (o.has('u')) {
          // dry run: only the name
        } else if (o.has('d')) {
          p.fs.vol.mkdirSync(full);
          p.fs.vol.chmodSync(full, 0o700);
        } else {
          p.fs.vol.writeFileSync(full, '', { flag: 'wx' });
          p.fs.vol.chmodSync(full, 0o600);
        }
      } catch (error) {
        return fail(errno(error));
      }
      p.stdout.write(`${name}\n`);
      return 0;
    }
    return fail('File exists');
  },
};
