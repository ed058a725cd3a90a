/** `hostname [-sidf] [HOSTNAME | -F FILE]`: reads the guest's name; setting it is not modelled. */
import { notModelled, type Applet } from './applet.ts';
import { getopt } from './getopt.ts';

export const hostname: Applet = {
  source: 'networking/hostname.c',
  usage: '[-sidf] [HOSTNAME | -F FILE]',
  summary: 'Show or set hostname or DNS domain name',
  main(p) {
    const o = getopt(p, p.argv.slice(1), { short: 'dfisF:', unmodelled: 'iF' });
    if (o.operands.length) notModelled(p, 'setting the hostname');
    const name = p.system.hostname;
    if (o.has('d')) p.stdout.write(`${name.includes('.') ? name.slice(name.indexOf('.') + 1) : ''}\n`);
    else p.stdout.write(`${o.has('s') ? name.split('.')[0] : name}\n`);
    return 0;
  },
};
