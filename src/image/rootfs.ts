/** The Debian base of the agent image: a debootstrap root filesystem, cached as a tarball. */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Env } from '../host/state.ts';
import { exists } from './npm.ts';
import { type BuildRun, ImageBuildError } from './progress.ts';
import { DEBIAN, DEBIAN_ARCH, type ImageArch, ROOTFS_SCRIPT } from './recipe.ts';

export const DEBIAN_MIRROR_ENV = 'CLAUDE_BOTTLE_DEBIAN_MIRROR';

/**
 * `debootstrap --variant=minbase --include=…` into a scratch dir, the recipe's rootfs script in a
 * chroot, then one tarball (numeric owners, no device nodes): made once, at `rootfsTar`.
 */
export async function buildRootfsTar(
  run: BuildRun,
  rootfsTar: string,
  options: { arch: ImageArch; mirror: string | undefined; env: Env; cacheDir: string },
): Promise<{ value: undefined; cached: boolean }> {
  if (await exists(rootfsTar)) return { value: undefined, cached: true };
  if (process.getuid?.() !== 0) {
    throw new ImageBuildError(
      'rootfs',
      'debootstrap needs root: run `claude-bottle image build` as root (or with sudo) once; later builds reuse its cached root filesystem',
    );
  }
  const mirror = options.mirror ?? (await debianMirror(options.env));
  const work = join(options.cacheDir, `work-${randomBytes(4).toString('hex')}`);
  const partial = `${rootfsTar}.${randomBytes(4).toString('hex')}.partial`;
  const rootfs = join(work, 'rootfs');
  await mkdir(rootfs, { recursive: true });
  try {
    const debootstrap = [
      'debootstrap',
      `--variant=${DEBIAN.variant}`,
      `--include=${DEBIAN.packages.join(',')}`,
      `--arch=${DEBIAN_ARCH[options.arch]}`,
      DEBIAN.suite,
      rootfs,
      mirror,
    ];
    await run.must('rootfs', debootstrap, `debootstrap from ${mirror}`);
    await run.must(
      'rootfs',
      ['env', '-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'LC_ALL=C', 'chroot', rootfs, '/bin/sh', '-eu', '-c', ROOTFS_SCRIPT],
      'the rootfs script',
    );
    await mkdir(join(rootfsTar, '..'), { recursive: true });
    // Device nodes, /proc and /sys belong to the container runtime, not the image.
    await run.must(
      'rootfs',
      ['tar', '--numeric-owner', '--xattrs', '-C', rootfs, '--exclude=./dev/*', '--exclude=./proc/*', '--exclude=./sys/*', '-cf', partial, '.'],
      'archiving the root filesystem',
    );
    await rename(partial, rootfsTar);
  } finally {
    await rm(work, { recursive: true, force: true });
    await rm(partial, { force: true });
  }
  return { value: undefined, cached: false };
}

/**
 * `$CLAUDE_BOTTLE_DEBIAN_MIRROR`, else the first Debian (non-security) mirror in the host's apt
 * sources (one-line or deb822 format): the mirror this machine is set up to reach. No default
 * is guessed; without either, the build says how to name one.
 */
export async function debianMirror(env: Env = process.env, sourcesRoot = '/etc/apt'): Promise<string> {
  const explicit = env[DEBIAN_MIRROR_ENV];
  if (explicit) return explicit;
  const files: string[] = [join(sourcesRoot, 'sources.list')];
  try {
    // apt reads only *.list and *.sources there; anything else (e.g. a disabled file) is not a source.
    for (const f of (await readdir(join(sourcesRoot, 'sources.list.d'))).sort()) {
      if (/\.(list|sources)$/.test(f)) files.push(join(sourcesRoot, 'sources.list.d', f));
    }
  } catch {
    // no sources.list.d
  }
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      continue;
    }
    const uris = [
      ...[...text.matchAll(/^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/gm)].map((m) => ({ uri: m[1] ?? '', suites: m[2] ?? '' })),
      ...[...text.matchAll(/^URIs:\s*(.+)$/gim)].flatMap((m) =>
        (m[1] ?? '')
          .trim()
          .split(/\s+/)
          .map((uri) => ({ uri, suites: '' })),
      ),
    ];
    const found = uris.find(({ uri, suites }) => /^https?:\/\//.test(uri) && !/security/.test(uri) && !/security/.test(suites) && /debian/.test(uri));
    if (found) return found.uri;
  }
  throw new ImageBuildError('rootfs', `no Debian mirror found in ${sourcesRoot}/sources.list*; set ${DEBIAN_MIRROR_ENV} to one (e.g. http://<mirror>/debian)`);
}
