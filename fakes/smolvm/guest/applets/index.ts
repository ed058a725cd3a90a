/**
 * Every applet the fake's busybox has: the name it is linked as, the directory busybox links
 * it into (its source's `//applet:` line, BB_DIR_*), and its module, loaded on first use so a
 * `smolvm` call that runs nothing in the guest does not load the userland. To add an applet:
 * write `NAME.ts` exporting an `Applet` (busybox source, usage, `main`, options through
 * `getopt`) and list it here; the rootfs links it and PATH lookups find it.
 */
import type { Applet, BinDir } from './applet.ts';

export interface AppletEntry {
  readonly dir: BinDir;
  readonly load: () => Promise<Applet>;
}

export const APPLETS: Readonly<Record<string, AppletEntry>> = {
  '[': { dir: '/usr/bin', load: async () => (await import('./test.ts')).test },
  base64: { dir: '/bin', load: async () => (await import('./base64.ts')).base64 },
  basename: { dir: '/usr/bin', load: async () => (await import('./basename.ts')).basename },
  cat: { dir: '/bin', load: async () => (await import('./cat.ts')).cat },
  chmod: { dir: '/bin', load: async () => (await import('./chmod.ts')).chmod },
  chown: { dir: '/bin', load: async () => (await import('./chown.ts')).chown },
  cp: { dir: '/bin', load: async () => (await import('./cp.ts')).cp },
  cut: { dir: '/usr/bin', load: async () => (await import('./cut.ts')).cut },
  date: { dir: '/bin', load: async () => (await import('./date.ts')).date },
  dd: { dir: '/bin', load: async () => (await import('./dd.ts')).dd },
  dirname: { dir: '/usr/bin', load: async () => (await import('./dirname.ts')).dirname },
  echo: { dir: '/bin', load: async () => (await import('./echo.ts')).echo },
  env: { dir: '/usr/bin', load: async () => (await import('./env.ts')).env },
  expr: { dir: '/usr/bin', load: async () => (await import('./expr.ts')).expr },
  false: { dir: '/bin', load: async () => (await import('./true.ts')).falseApplet },
  find: { dir: '/usr/bin', load: async () => (await import('./find.ts')).find },
  grep: { dir: '/bin', load: async () => (await import('./grep.ts')).grep },
  head: { dir: '/usr/bin', load: async () => (await import('./head.ts')).head },
  hostname: { dir: '/bin', load: async () => (await import('./hostname.ts')).hostname },
  id: { dir: '/usr/bin', load: async () => (await import('./id.ts')).id },
  ln: { dir: '/bin', load: async () => (await import('./ln.ts')).ln },
  ls: { dir: '/bin', load: async () => (await import('./ls.ts')).ls },
  md5sum: { dir: '/usr/bin', load: async () => (await import('./sums.ts')).md5sum },
  mkdir: { dir: '/bin', load: async () => (await import('./mkdir.ts')).mkdir },
  mktemp: { dir: '/bin', load: async () => (await import('./mktemp.ts')).mktemp },
  mv: { dir: '/bin', load: async () => (await import('./mv.ts')).mv },
  nc: { dir: '/usr/bin', load: async () => (await import('./nc.ts')).nc },
  od: { dir: '/usr/bin', load: async () => (await import('./od.ts')).od },
  printenv: { dir: '/bin', load: async () => (await import('./printenv.ts')).printenv },
  printf: { dir: '/usr/bin', load: async () => (await import('./printf.ts')).printf },
  pwd: { dir: '/bin', load: async () => (await import('./pwd.ts')).pwd },
  readlink: { dir: '/usr/bin', load: async () => (await import('./realpath.ts')).readlink },
  realpath: { dir: '/usr/bin', load: async () => (await import('./realpath.ts')).realpath },
  rm: { dir: '/bin', load: async () => (await import('./rm.ts')).rm },
  rmdir: { dir: '/bin', load: async () => (await import('./rmdir.ts')).rmdir },
  sed: { dir: '/bin', load: async () => (await import('./sed.ts')).sed },
  seq: { dir: '/usr/bin', load: async () => (await import('./seq.ts')).seq },
  sha1sum: { dir: '/usr/bin', load: async () => (await import('./sums.ts')).sha1sum },
  sha256sum: { dir: '/usr/bin', load: async () => (await import('./sums.ts')).sha256sum },
  sha512sum: { dir: '/usr/bin', load: async () => (await import('./sums.ts')).sha512sum },
  sleep: { dir: '/bin', load: async () => (await import('./sleep.ts')).sleep },
  sort: { dir: '/usr/bin', load: async () => (await import('./sort.ts')).sort },
  stat: { dir: '/bin', load: async () => (await import('./stat.ts')).stat },
  tail: { dir: '/usr/bin', load: async () => (await import('./tail.ts')).tail },
  tar: { dir: '/bin', load: async () => (await import('./tar.ts')).tar },
  tee: { dir: '/usr/bin', load: async () => (await import('./tee.ts')).tee },
  test: { dir: '/usr/bin', load: async () => (await import('./test.ts')).test },
  touch: { dir: '/bin', load: async () => (await import('./touch.ts')).touch },
  tr: { dir: '/usr/bin', load: async () => (await import('./tr.ts')).tr },
  true: { dir: '/bin', load: async () => (await import('./true.ts')).trueApplet },
  uname: { dir: '/bin', load: async () => (await import('./uname.ts')).uname },
  uniq: { dir: '/usr/bin', load: async () => (await import('./uniq.ts')).uniq },
  wc: { dir: '/usr/bin', load: async () => (await import('./wc.ts')).wc },
  which: { dir: '/usr/bin', load: async () => (await import('./which.ts')).which },
  whoami: { dir: '/usr/bin', load: async () => (await import('./whoami.ts')).whoami },
  xargs: { dir: '/usr/bin', load: async () => (await import('./xargs.ts')).xargs },
};

export { program } from './applet.ts';
export type { Applet, BinDir } from './applet.ts';
