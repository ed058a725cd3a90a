/**
 * `uname [-amnrspvio]`. The guest kernel is libkrunfw's linux-6.12.87 (smolvm v1.9.2
 * scripts/build-libkrun-linux.sh); its build string is UNCONFIRMED. Alpine names the OS `Linux`.
 */
import type { Applet } from './applet.ts';
import { getopt } from './getopt.ts';

const RELEASE = '6.12.87';
const VERSION = '#1 SMP';

export const uname: Applet = {
  source: 'coreutils/uname.c',
  usage: '[-amnrspvio]',
  summary: 'Print system information',
  main(p) {
    const o = getopt(p, p.argv.slice(1), {
      short: 'asnrvmipo',
      long: {
        all: 'a',
        'kernel-name': 's',
        'node-name': 'n',
        'kernel-release': 'r',
        release: 'r',
        'kernel-version': 'v',
        machine: 'm',
        'hardware-platform': 'i',
        processor: 'p',
        'operating-system': 'o',
      },
    });
    const all = o.has('a');
    const fields: Array<[string, string]> = [
      ['s', 'Linux'],
      ['n', p.system.hostname],
      ['r', RELEASE],
      ['v', VERSION],
      ['m', p.system.arch],
      ['p', p.system.arch],
      ['i', p.system.arch],
      ['o', 'Linux'],
    ];
    // `uname -a` leaves out -p and -i when they are "unknown"; here they equal -m, as on Linux.
    const chosen = fields.filter(([k]) => (all ? k !== 'p' && k !== 'i' : o.has(k)));
    p.stdout.write(`${(chosen.length ? chosen : fields.slice(0, 1)).map(([, v]) => v).join(' ')}\n`);
    return 0;
  },
};
