/** `whoami`: the effective user's name, from the guest's /etc/passwd. */
import { die, UsageFailure, type Applet } from './applet.ts';
import { userName } from './files.ts';

export const whoami: Applet = {
  source: 'coreutils/whoami.c',
  usage: '',
  summary: 'Print the user name associated with the current effective user id',
  main(p) {
    if (p.argv.length > 1) throw new UsageFailure();
    const name = userName(p, p.user.uid);
    if (name === undefined) die(p, `unknown uid ${p.user.uid}`);
    p.stdout.write(`${name}\n`);
    return 0;
  },
};
