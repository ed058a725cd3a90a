/** `id [-ugGnr] [USER]`. Guest commands start with no supplementary groups (the agent is PID 1). */
import { readPasswd } from '../../images.ts';
import { die, type Applet, type AppletProcess } from './applet.ts';
import { groupName, userName } from './files.ts';
import { getopt } from './getopt.ts';

export const id: Applet = {
  source: 'coreutils/id.c',
  usage: '[-ugGnr] [USER]',
  summary: 'Print information about USER or the current user',
  main(p) {
    const o = getopt(p, p.argv.slice(1), { short: 'ugGnr' });
    let uid = p.user.uid;
    let gid = p.user.gid;
    let groups: number[] = [];
    const name = o.operands[0];
    if (name !== undefined) {
      const entry = readPasswd(p.fs).find((u) => u.name === name) ?? (/^\d+$/.test(name) ? readPasswd(p.fs).find((u) => u.uid === Number(name)) : undefined);
      if (!entry) die(p, `unknown user ${name}`);
      ({ uid, gid } = entry);
      // getgrouplist: the primary group, then every group listing the user.
      groups = [gid, ...readGroupsWith(p, entry.name).filter((g) => g !== gid)];
    }
    const asName = (n: number, lookup: (x: number) => string | undefined): string => {
      if (!o.has('n')) return String(n);
      const found = lookup(n);
      if (found === undefined) die(p, `unknown ID ${n}`);
      return found;
    };
    if (o.has('u') || o.has('g')) {
      p.stdout.write(`${o.has('u') ? asName(uid, (x) => userName(p, x)) : asName(gid, (x) => groupName(p, x))}\n`);
      return 0;
    }
    if (o.has('G')) {
      const all = groups.length ? groups : [gid];
      p.stdout.write(`${all.map((g) => asName(g, (x) => groupName(p, x))).join(' ')}\n`);
      return 0;
    }
    const label = (n: number, found: string | undefined): string => (found ? `${n}(${found})` : String(n));
    let out = `uid=${label(uid, userName(p, uid))} gid=${label(gid, groupName(p, gid))}`;
    if (groups.length) out += ` groups=${groups.map((g) => label(g, groupName(p, g))).join(',')}`;
    p.stdout.write(`${out}\n`);
    return 0;
  },
};

function readGroupsWith(p: AppletProcess, user: string): number[] {
  const text = p.fs.as({ uid: 0, gid: 0 }, () => (p.fs.vol.existsSync('/etc/group') ? String(p.fs.vol.readFileSync('/etc/group', 'utf8')) : ''));
  const members = new Set<number>();
  for (const line of text.split('\n')) {
    const [, , g, list = ''] = line.split(':');
    if (g !== undefined && list.split(',').includes(user)) members.add(Number(g));
  }
  return [...members];
}
