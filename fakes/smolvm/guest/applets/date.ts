/** `date [-uR] [-I[SPEC]] [-d TIME] [-r FILE] [+FMT]`: the guest clock, in UTC. Setting it is not modelled. */
import { die, notModelled, type Applet } from './applet.ts';
import { errno, stat } from './files.ts';
import { getopt } from './getopt.ts';
import { parseDate, strftime } from './dates.ts';

const ISO: Readonly<Record<string, string>> = {
  date: '%Y-%m-%d',
  hours: '%Y-%m-%dT%H%z',
  minutes: '%Y-%m-%dT%H:%M%z',
  seconds: '%Y-%m-%dT%H:%M:%S%z',
  ns: '%Y-%m-%dT%H:%M:%S,%N%z',
};

export const date: Applet = {
  source: 'coreutils/date.c',
  usage: '[OPTIONS] [+FMT] [[-s] TIME]',
  summary: 'Display time (using +FMT), or set time',
  main(p) {
    const o = getopt(p, p.argv.slice(1), {
      short: 'Rs:ud:r:I::D:',
      long: { rfc822: 'R', rfc2822: 'R', set: 's:', utc: 'u', date: 'd:', reference: 'r:', 'iso-8601': 'I::' },
      unmodelled: 'sD',
    });
    let ms = p.clock();
    const text = o.value('d');
    if (text !== undefined) {
      const parsed = parseDate(text, ms);
      if (parsed === undefined) die(p, `invalid date '${text}'`);
      ms = parsed;
    }
    const reference = o.value('r');
    if (reference !== undefined) {
      try {
        ms = Number(stat(p, reference).mtimeMs);
      } catch (error) {
        die(p, `can't stat '${reference}': ${errno(error)}`);
      }
    }
    const operand = o.operands[0];
    if (operand !== undefined && !operand.startsWith('+')) notModelled(p, 'setting the date');
    let format = operand?.slice(1) ?? '%a %b %e %H:%M:%S %Z %Y';
    if (o.has('R')) format = '%a, %d %b %Y %H:%M:%S %z';
    if (o.has('I')) {
      const spec = ISO[o.value('I') || 'date'];
      if (spec === undefined) die(p, `invalid argument '${o.value('I')}' to '-I'`);
      format = spec.replace(/%z$/, '+00:00');
    }
    p.stdout.write(`${strftime(format, ms)}\n`);
    return 0;
  },
};
