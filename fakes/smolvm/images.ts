/**
 * Images the fake can "pull". Tests register them; anything alpine-like is built in, because
 * the fake's userland is busybox-flavoured anyway. Everything else fails to pull at start.
 */
import { posix } from 'node:path';
import { type GuestFs, ROOT, type GuestUser } from './guest-fs.ts';
import type { BinDir } from './guest/applets/applet.ts';
import { alpineRootfs } from './guest/rootfs.ts';

export type ImageFile =
  | string
  | Uint8Array
  | {
      readonly type?: 'file' | 'dir';
      readonly content?: string | Uint8Array;
      readonly mode?: number;
      readonly uid?: number;
      readonly gid?: number;
    };

export interface FakeImage {
  /** Guest path → content. Parents are created 0755 root-owned. */
  readonly files?: Readonly<Record<string, ImageFile>>;
  /** OCI `USER`: `name`, `uid`, `uid:gid` or `name:group`, resolved against the image's /etc/passwd. */
  readonly user?: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly workdir?: string;
  readonly entrypoint?: readonly string[];
  readonly cmd?: readonly string[];
}

/** What a machine keeps from its image after the first pull (so later starts need no registry). */
export interface ImageConfig {
  readonly user: GuestUser;
  readonly env: Readonly<Record<string, string>>;
  readonly workdir: string | null;
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
}

export interface PulledImage {
  readonly config: ImageConfig;
  readonly rootfs: GuestFs;
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const ARCHIVE_SUFFIXES = ['.tar', '.tar.gz', '.tgz'];

/** `image_source::looks_local`: an explicit path prefix or an archive suffix. */
export function looksLocal(ref: string): boolean {
  return ref.startsWith('/') || ref.startsWith('./') || ref.startsWith('../') || ARCHIVE_SUFFIXES.some((s) => ref.endsWith(s));
}

/** `alpine`, `alpine:3.20`, `docker.io/library/alpine:latest` are one image. */
export function normalizeRef(ref: string): string {
  let r = ref.replace(/^(docker\.io|index\.docker\.io|registry-1\.docker\.io)\//, '').replace(/^library\//, '');
  const lastSlash = r.lastIndexOf('/');
  if (!r.includes('@') && !r.slice(lastSlash + 1).includes(':')) r += ':latest';
  return r;
}

function isAlpine(ref: string): boolean {
  return /^alpine(:[^/]*)?(@.*)?$/.test(normalizeRef(ref));
}

export class ImageRegistry {
  readonly #images = new Map<string, FakeImage>();
  readonly #links: () => ReadonlyArray<readonly [string, BinDir]>;

  constructor(links: () => ReadonlyArray<readonly [string, BinDir]>) {
    this.#links = links;
  }

  register(ref: string, image: FakeImage): void {
    const key = looksLocal(ref) ? ref : normalizeRef(ref);
    this.#images.set(key, image);
    this.pull(ref); // fail now, in the test that registered it, if USER cannot be resolved
  }

  has(ref: string): boolean {
    return this.#images.has(looksLocal(ref) ? ref : normalizeRef(ref)) || (!looksLocal(ref) && isAlpine(ref));
  }

  /** Build the image's rootfs and runtime config, or `undefined` if the registry has no such image. */
  pull(ref: string): PulledImage | undefined {
    const image = this.#images.get(looksLocal(ref) ? ref : normalizeRef(ref)) ?? (isAlpine(ref) ? {} : undefined);
    if (!image) return undefined;
    const rootfs = alpineRootfs({ links: this.#links(), bare: false });
    for (const [path, file] of Object.entries(image.files ?? {})) seed(rootfs, path, file);
    const user = resolveUser(rootfs, image.user ?? '', ref);
    rootfs.setDefaultUser(user);
    return {
      rootfs,
      config: {
        user,
        env: { PATH: DEFAULT_PATH, ...image.env },
        workdir: image.workdir ?? null,
        entrypoint: image.entrypoint ?? [],
        cmd: image.cmd ?? [],
      },
    };
  }
}

function seed(fs: GuestFs, path: string, file: ImageFile): void {
  const spec = typeof file === 'string' || file instanceof Uint8Array ? { content: file } : file;
  const owner = { uid: spec.uid ?? 0, gid: spec.gid ?? 0 };
  if (spec.type === 'dir') {
    fs.mkdirs(path);
    fs.as(ROOT, () => {
      fs.vol.chmodSync(path, spec.mode ?? 0o755);
      fs.vol.chownSync(path, owner.uid, owner.gid);
    });
  } else {
    fs.put(posix.resolve('/', path), spec.content ?? '', spec.mode ?? 0o644, owner);
  }
}

export interface PasswdEntry {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
}

export function readPasswd(fs: GuestFs): PasswdEntry[] {
  return readColonFile(fs, '/etc/passwd').map((f) => ({
    name: f[0] ?? '',
    uid: Number(f[2]),
    gid: Number(f[3]),
    home: f[5] || '/',
  }));
}

export function readGroups(fs: GuestFs): { name: string; gid: number }[] {
  return readColonFile(fs, '/etc/group').map((f) => ({ name: f[0] ?? '', gid: Number(f[2]) }));
}

function readColonFile(fs: GuestFs, path: string): string[][] {
  const text = fs.as(ROOT, () => (fs.vol.existsSync(path) ? String(fs.vol.readFileSync(path, 'utf8')) : ''));
  return text
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'))
    .map((l) => l.split(':'));
}

/** OCI USER resolution as crun does it: names through the image's passwd/group files. */
function resolveUser(fs: GuestFs, spec: string, ref: string): GuestUser {
  if (spec === '' || spec === 'root' || spec === '0') return ROOT;
  const [userPart = '', groupPart] = spec.split(':');
  const passwd = readPasswd(fs);
  const entry = /^\d+$/.test(userPart) ? passwd.find((p) => p.uid === Number(userPart)) : passwd.find((p) => p.name === userPart);
  if (!entry && !/^\d+$/.test(userPart)) {
    throw new Error(`fake image ${ref}: USER '${userPart}' is not in the image's /etc/passwd`);
  }
  let gid = entry?.gid ?? 0;
  if (groupPart !== undefined) {
    const group = /^\d+$/.test(groupPart) ? Number(groupPart) : readGroups(fs).find((g) => g.name === groupPart)?.gid;
    if (group === undefined) throw new Error(`fake image ${ref}: group '${groupPart}' is not in the image's /etc/group`);
    gid = group;
  }
  return { name: entry?.name ?? userPart, uid: entry?.uid ?? Number(userPart), gid, home: entry?.home ?? '/' };
}
