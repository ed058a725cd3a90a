/**
 * One memfs volume per machine, with a guest's idea of who is acting.
 *
 * memfs checks permissions against the *host* process uid and has no root bypass, so a fake
 * run as a CI user could not write `/root`. Each volume gets its own `process` (uid/gid of the
 * acting guest user) and every inode's access checks are replaced by Linux rules with root
 * allowed everything. New files are owned by the acting user.
 */
import { constants } from 'node:fs';
import { posix } from 'node:path';
import { Volume, type IProcess } from 'memfs';

export interface GuestUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
}

export const ROOT: GuestUser = { name: 'root', uid: 0, gid: 0, home: '/root' };

/** One serialised inode: what `exportState` writes and `createFakeSmolvm({ state })` reads. */
export interface GuestEntry {
  readonly path: string;
  readonly type: 'file' | 'dir' | 'symlink';
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** base64, files only. */
  readonly content?: string;
  /** symlinks only. */
  readonly target?: string;
}

type CoreNode = ReturnType<Volume['_core']['createNode']>;

const { S_IFLNK } = constants;

/** Paths that are tmpfs in the guest: emptied on every boot (§2, AGENTS.md "Persistence Model"). */
const TMPFS = ['/tmp', '/run', '/dev/shm'] as const;

export class GuestFs {
  readonly vol: Volume;
  #actor: { uid: number; gid: number };
  #defaultUser: GuestUser = ROOT;

  constructor() {
    this.#actor = { uid: 0, gid: 0 };
    const actor = (): { uid: number; gid: number } => this.#actor;
    const guestProcess: IProcess = {
      getuid: () => actor().uid,
      getgid: () => actor().gid,
      cwd: () => '/',
      platform: 'linux',
      emitWarning: () => {},
      env: {},
    };
    this.vol = Volume.fromJSON({}, '/', { process: guestProcess });
    const core = this.vol._core;
    const createNode = core.createNode.bind(core);
    core.createNode = (mode: number) => withLinuxAccess(createNode(mode), actor);
    withLinuxAccess(core.root.getNode(), actor);
    this.vol.chmodSync('/', 0o755);
  }

  /** The user exec runs as: root on bare VMs, the image's USER otherwise. Handlers act as it too. */
  get defaultUser(): GuestUser {
    return this.#defaultUser;
  }

  setDefaultUser(user: GuestUser): void {
    this.#defaultUser = user;
    this.#actor = { uid: user.uid, gid: user.gid };
  }

  /** Run synchronous fs work as `user`, then fall back to the default user. */
  as<T>(user: { uid: number; gid: number }, work: () => T): T {
    const previous = this.#actor;
    this.#actor = { uid: user.uid, gid: user.gid };
    try {
      return work();
    } finally {
      this.#actor = previous;
    }
  }

  /** `mkdir -p` as root with an explicit mode for every directory it creates. */
  mkdirs(path: string, mode = 0o755, owner: { uid: number; gid: number } = ROOT): void {
    this.as(ROOT, () => {
      let current = '';
      for (const part of path.split('/').filter(Boolean)) {
        current += `/${part}`;
        if (!this.vol.existsSync(current)) {
          this.vol.mkdirSync(current);
          this.vol.chmodSync(current, mode);
          this.vol.chownSync(current, owner.uid, owner.gid);
        }
      }
    });
  }

  /** Write a file as root with an exact mode and owner (seeding, restore). */
  put(path: string, content: string | Uint8Array, mode = 0o644, owner: { uid: number; gid: number } = ROOT): void {
    this.mkdirs(posix.dirname(path));
    this.as(ROOT, () => {
      this.vol.writeFileSync(path, content);
      this.vol.chmodSync(path, mode);
      this.vol.chownSync(path, owner.uid, owner.gid);
    });
  }

  /** Empty the tmpfs mounts, as a reboot does. */
  wipeTmpfs(): void {
    this.as(ROOT, () => {
      for (const dir of TMPFS) {
        if (!this.vol.existsSync(dir)) continue;
        for (const name of this.vol.readdirSync(dir) as string[]) {
          this.vol.rmSync(posix.join(dir, name), { recursive: true, force: true });
        }
      }
    });
  }

  export(): GuestEntry[] {
    return this.as(ROOT, () => {
      const entries: GuestEntry[] = [];
      const walk = (path: string): void => {
        const st = this.vol.lstatSync(path);
        const base = { path, mode: Number(st.mode) & 0o7777, uid: Number(st.uid), gid: Number(st.gid) };
        if (st.isSymbolicLink()) {
          entries.push({ ...base, type: 'symlink', target: String(this.vol.readlinkSync(path)) });
        } else if (st.isDirectory()) {
          entries.push({ ...base, type: 'dir' });
          const names = (this.vol.readdirSync(path) as string[]).sort();
          for (const name of names) walk(posix.join(path, name));
        } else {
          const data = this.vol.readFileSync(path) as Uint8Array;
          entries.push({ ...base, type: 'file', content: Buffer.from(data).toString('base64') });
        }
      };
      walk('/');
      return entries;
    });
  }

  /** An independent copy (files, modes, owners, the exec user), as a fork clone gets. */
  copy(): GuestFs {
    const fs = GuestFs.import(this.export());
    fs.setDefaultUser(this.#defaultUser);
    return fs;
  }

  static import(entries: readonly GuestEntry[]): GuestFs {
    const fs = new GuestFs();
    fs.as(ROOT, () => {
      for (const e of entries) {
        if (e.type === 'dir') {
          if (!fs.vol.existsSync(e.path)) fs.vol.mkdirSync(e.path, { recursive: true });
        } else if (e.type === 'symlink') {
          fs.vol.symlinkSync(e.target ?? '', e.path);
          fs.vol.lchownSync(e.path, e.uid, e.gid);
          continue;
        } else {
          fs.vol.writeFileSync(e.path, Buffer.from(e.content ?? '', 'base64'));
        }
        fs.vol.chmodSync(e.path, e.mode);
        fs.vol.chownSync(e.path, e.uid, e.gid);
      }
    });
    return fs;
  }
}

/** Linux access rules: root may read/write anything and execute anything with an x bit. */
function withLinuxAccess(node: CoreNode, actor: () => { uid: number; gid: number }): CoreNode {
  const allowed = (bit: 4 | 2 | 1, uid: number, gid: number): boolean => {
    const perm = node.perm;
    if (uid === 0) return bit !== 1 || node.isDirectory() || (perm & 0o111) !== 0;
    if (uid === node.uid) return ((perm >> 6) & bit) !== 0;
    if (gid === node.gid) return ((perm >> 3) & bit) !== 0;
    return (perm & bit) !== 0;
  };
  node.canRead = (uid = actor().uid, gid = actor().gid) => allowed(4, uid, gid);
  node.canWrite = (uid = actor().uid, gid = actor().gid) => allowed(2, uid, gid);
  node.canExecute = (uid = actor().uid, gid = actor().gid) => allowed(1, uid, gid);
  // memfs makes symlinks 0666 and 0 bytes; Linux makes them 0777, sized by their target.
  const makeSymlink = node.makeSymlink.bind(node);
  node.makeSymlink = (target: string) => {
    makeSymlink(target);
    node.mode = S_IFLNK | 0o777;
    (node as unknown as { size: number }).size = Buffer.byteLength(target);
  };
  return node;
}
