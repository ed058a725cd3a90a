/**
 * `-v HOST:GUEST[:ro|:rw]` as `src/data/storage.rs::HostMount` (v1.9.2) parses it at create:
 * split from the right, the host source must exist and be a directory (virtiofs shares
 * directories only), is canonicalized, must not be a protected system path, and the guest
 * target must be absolute; targets must be unique.
 */
import { resolve } from 'node:path';
import type { HostFs } from './host-fs.ts';
import { CommandFailure } from './model.ts';
import * as t from './texts.ts';

export interface Mount {
  readonly host: string;
  readonly guest: string;
  readonly readOnly: boolean;
}

/** `ILLEGAL_SOURCE_MOUNT_PATH`: [path, whether its subtree is protected too], per host OS. */
const PROTECTED: Partial<Record<NodeJS.Platform, ReadonlyArray<readonly [string, boolean]>>> = {
  darwin: [
    ['/', false],
    ['/private/var', false],
    ['/private/var/run', true],
    ['/private/var/log', true],
    ['/private/etc', true],
    ['/usr', true],
    ['/bin', true],
    ['/sbin', true],
    ['/lib', true],
    ['/System', true],
    ['/Library', true],
  ],
  linux: [
    ['/', false],
    ['/var', false],
    ['/var/run', true],
    ['/var/log', true],
    ['/etc', true],
    ['/boot', true],
    ['/usr', true],
    ['/bin', true],
    ['/sbin', true],
    ['/lib', true],
    ['/proc', true],
    ['/sys', true],
    ['/dev', true],
    ['/run', true],
  ],
};

export async function parseVolumes(specs: readonly string[], hostFs: HostFs): Promise<Mount[]> {
  const mounts: Mount[] = [];
  for (const spec of specs) mounts.push(await parseVolume(spec, hostFs));
  const seen = new Set<string>();
  for (const m of mounts) {
    if (seen.has(m.guest)) throw new CommandFailure(t.volumeDuplicateTarget(m.guest));
    seen.add(m.guest);
  }
  return mounts;
}

async function parseVolume(spec: string, hostFs: HostFs): Promise<Mount> {
  let rest = spec;
  let readOnly = false;
  const mode = /:(ro|rw)$/.exec(spec);
  if (mode) {
    rest = spec.slice(0, -3);
    readOnly = mode[1] === 'ro';
  }
  const colon = rest.lastIndexOf(':');
  const source = colon === -1 ? '' : rest.slice(0, colon);
  const guest = colon === -1 ? '' : rest.slice(colon + 1);
  if (source === '' || guest === '') throw new CommandFailure(t.volumeMalformed(spec));

  const isDir = await hostFs.stat(source).then(
    (st) => st.isDirectory(),
    () => undefined,
  );
  if (isDir === undefined) throw new CommandFailure(t.volumeSourceNotFound(source));
  if (!isDir) throw new CommandFailure(t.volumeNotDirectory(source));
  let host: string;
  try {
    host = hostFs.realpath ? String(await hostFs.realpath(source)) : resolve(source);
  } catch (error) {
    throw new CommandFailure(t.volumeCanonicalize(source, t.ioError((error as { code?: string }).code)));
  }
  for (const [path, subtree] of PROTECTED[process.platform] ?? []) {
    if (host === path || (subtree && host.startsWith(`${path}/`))) throw new CommandFailure(t.volumeProtected(host));
  }
  if (!guest.startsWith('/')) throw new CommandFailure(t.volumeGuestNotAbsolute(guest));
  return { host, guest, readOnly };
}
