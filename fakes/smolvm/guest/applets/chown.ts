/** `chown [-Rh] USER[:[GRP]] FILE...`, names looked up in the guest's /etc/passwd and /etc/group. */
import { readGroups, readPasswd } from '../../images.ts';
import { complain, die, UsageFailure, type Applet } from './applet.ts';
import { abs, errno, fsError, lstat, walk } from './files.ts';
import { getopt } from './getopt.ts';

export const chown: Applet = {
  source: 'coreutils/chown.c',
  usage: '[-RhLHPcvf]... USER[:[GRP]] FILE...',
  summary: 'Change the owner and/or group of FILEs to USER and/or GRP',
  main(p) {
    const o = getopt(p, p.argv.slice(1), { short: 'RhLHPcvf', unmodelled: 'LHPcv' });
    const [spec, ...files] = o.operands;
    if (spec === undefined || files.length === 0) throw new UsageFailure();
    const [userPart = '', groupPart] = spec.split(/[:.]/);
    const passwd = readPasswd(p.fs);
    let uid: number | undefined;
    let gid: number | undefined;
    if (userPart !== '') {
      const entry = /^\d+$/.test(userPart) ? undefined : passwd.find((u) => u.name === userPart);
      if (!/^\d+$/.test(userPart) && !entry) die(p, `unknown user ${userPart}`);
      uid = entry ? entry.uid : Number(userPart);
      if (groupPart === '') gid = entry?.gid ?? passwd.find((u) => u.uid === uid)?.gid;
    }
    if (groupPart) {
      const group = /^\d+$/.test(groupPart) ? Number(groupPart) : readGroups(p.fs).find((g) => g.name === groupPart)?.gid;
      if (group === undefined) die(p, `unknown group ${groupPart}`);
      gid = group;
    }
    let status = 0;
    for (const file of files) {
      let current = file;
      try {
        walk(p, file, o.has('R'), (path) => {
          current = path;
          const st = lstat(p, path);
          if (p.user.uid !== 0) throw fsError('EPERM');
          // -R does not follow links below the operand; -h does not follow the operand either.
          const noFollow = o.has('h') || (st.isSymbolicLink() && path !== file);
          const set = noFollow ? p.fs.vol.lchownSync.bind(p.fs.vol) : p.fs.vol.chownSync.bind(p.fs.vol);
          set(abs(p, path), uid ?? Number(st.uid), gid ?? Number(st.gid));
        });
      } catch (error) {
        if (!o.has('f')) complain(p, `${current}: ${errno(error)}`);
        status = 1;
      }
    }
    return status;
  },
};
