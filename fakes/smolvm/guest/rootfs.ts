/**
 * The guest's root filesystem, as smolvm v1.9.2 builds its agent rootfs
 * (scripts/build-agent-rootfs.sh): the Alpine 3.19.0 minirootfs, busybox 1.36.1 linked into
 * /bin, /sbin, /usr/bin and /usr/sbin, 0755 /root, /etc/resolv.conf and the /mnt mount points.
 * A bare machine also gets the agent's storage layout and its /workspace link
 * (crates/smolvm-agent/src/main.rs, storage.rs); an image machine gets /workspace bind-mounted.
 */
import { GuestFs, ROOT } from '../guest-fs.ts';
import type { BinDir } from './applets/applet.ts';

/** Alpine 3.19's alpine-release and alpine-baselayout-data files (aports main/alpine-baselayout). */
const OS_RELEASE = `NAME="Alpine Linux"
ID=alpine
VERSION_ID=3.19.0
PRETTY_NAME="Alpine Linux v3.19"
HOME_URL="https://alpinelinux.org/"
BUG_REPORT_URL="https://gitlab.alpinelinux.org/alpine/aports/-/issues"
`;

const PASSWD = `root:x:0:0:root:/root:/bin/sh
bin:x:1:1:bin:/bin:/sbin/nologin
daemon:x:2:2:daemon:/sbin:/sbin/nologin
lp:x:4:7:lp:/var/spool/lpd:/sbin/nologin
sync:x:5:0:sync:/sbin:/bin/sync
shutdown:x:6:0:shutdown:/sbin:/sbin/shutdown
halt:x:7:0:halt:/sbin:/sbin/halt
mail:x:8:12:mail:/var/mail:/sbin/nologin
news:x:9:13:news:/usr/lib/news:/sbin/nologin
uucp:x:10:14:uucp:/var/spool/uucppublic:/sbin/nologin
cron:x:16:16:cron:/var/spool/cron:/sbin/nologin
ftp:x:21:21::/var/lib/ftp:/sbin/nologin
sshd:x:22:22:sshd:/dev/null:/sbin/nologin
games:x:35:35:games:/usr/games:/sbin/nologin
ntp:x:123:123:NTP:/var/empty:/sbin/nologin
guest:x:405:100:guest:/dev/null:/sbin/nologin
nobody:x:65534:65534:nobody:/:/sbin/nologin
`;

const GROUP = `root:x:0:root
bin:x:1:root,bin,daemon
daemon:x:2:root,bin,daemon
sys:x:3:root,bin
adm:x:4:root,daemon
tty:x:5:
disk:x:6:root
lp:x:7:lp
kmem:x:9:
wheel:x:10:root
floppy:x:11:root
mail:x:12:mail
news:x:13:news
uucp:x:14:uucp
cron:x:16:cron
audio:x:18:
cdrom:x:19:
dialout:x:20:root
ftp:x:21:
sshd:x:22:
input:x:23:
tape:x:26:root
video:x:27:root
netdev:x:28:
kvm:x:34:kvm
games:x:35:
shadow:x:42:
www-data:x:82:
users:x:100:games
ntp:x:123:
abuild:x:300:
utmp:x:406:
ping:x:999:
nogroup:x:65533:
nobody:x:65534:
`;

/** `uname -m` for a guest on this host: smolvm runs same-architecture guests only. */
export function guestArch(): 'aarch64' | 'x86_64' {
  return process.arch === 'arm64' ? 'aarch64' : 'x86_64';
}

/**
 * /bin/busybox's first bytes: a little-endian ELF64 header of a PIE for the guest's machine
 * (EM_AARCH64 183, EM_X86_64 62), then the banner. Not a runnable binary: the fake's busybox
 * is the applets module.
 */
export function busyboxImage(arch: 'aarch64' | 'x86_64'): Uint8Array {
  const header = new DataView(new ArrayBuffer(64));
  for (const [i, b] of [0x7f, 0x45, 0x4c, 0x46, 2, 1, 1].entries()) header.setUint8(i, b);
  header.setUint16(16, 3, true); // ET_DYN
  header.setUint16(18, arch === 'aarch64' ? 183 : 62, true);
  header.setUint32(20, 1, true);
  header.setBigUint64(32, 64n, true); // e_phoff
  header.setUint16(52, 64, true); // e_ehsize
  header.setUint16(54, 56, true); // e_phentsize
  header.setUint16(58, 64, true); // e_shentsize
  const banner = new TextEncoder().encode('\0BusyBox v1.36.1 multi-call binary.\0');
  const out = new Uint8Array(1024);
  out.set(new Uint8Array(header.buffer));
  out.set(banner, 64);
  return out;
}

export interface RootfsOptions {
  /** Names linked to /bin/busybox, each in the directory busybox installs it to. */
  readonly links: ReadonlyArray<readonly [string, BinDir]>;
  /** A bare machine has the agent's /storage and the /workspace link to it. */
  readonly bare: boolean;
}

export function alpineRootfs(options: RootfsOptions): GuestFs {
  const fs = new GuestFs();
  for (const dir of [
    '/bin',
    '/sbin',
    '/usr/bin',
    '/usr/sbin',
    '/usr/local/bin',
    '/usr/local/sbin',
    '/usr/lib',
    '/lib',
    '/etc/apk',
    '/home',
    '/media',
    '/opt',
    '/srv',
    '/proc',
    '/sys',
    '/var/cache',
    '/var/lib',
    '/var/log',
    '/var/spool',
    '/var/empty',
  ]) {
    fs.mkdirs(dir);
  }
  // normalize_owner_only_modes widens /root to 0755.
  fs.mkdirs('/root', 0o755);
  // mkdirs gives new parents the mode too: /dev first, so only /dev/shm is sticky.
  fs.mkdirs('/dev');
  for (const dir of ['/tmp', '/var/tmp', '/dev/shm']) fs.mkdirs(dir, 0o1777);
  fs.mkdirs('/run');
  for (const dir of ['overlay', 'storage', 'newroot', 'virtiofs', 'rosetta']) fs.mkdirs(`/mnt/${dir}`);
  fs.put('/etc/os-release', OS_RELEASE);
  fs.put('/etc/alpine-release', '3.19.0\n');
  fs.put('/etc/passwd', PASSWD);
  fs.put('/etc/group', GROUP);
  fs.put('/etc/resolv.conf', 'nameserver 1.1.1.1\n');
  fs.put('/etc/apk/repositories', 'https://dl-cdn.alpinelinux.org/alpine/v3.19/main\nhttps://dl-cdn.alpinelinux.org/alpine/v3.19/community\n');
  fs.put('/dev/null', '', 0o666);
  fs.put('/bin/busybox', busyboxImage(guestArch()), 0o755);
  if (options.bare) {
    for (const dir of ['layers', 'configs', 'manifests', 'overlays', 'workspace', 'containers/run', 'containers/logs', 'containers/exit', 'containers/crun']) {
      fs.mkdirs(`/storage/${dir}`);
    }
  } else fs.mkdirs('/workspace');
  fs.as(ROOT, () => {
    if (options.bare) fs.vol.symlinkSync('/storage/workspace', '/workspace');
    for (const [name, dir] of [['sh', '/bin'] as const, ...options.links]) {
      const link = `${dir}/${name}`;
      if (!fs.vol.existsSync(link)) fs.vol.symlinkSync('/bin/busybox', link);
    }
  });
  return fs;
}
