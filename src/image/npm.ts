/** The recipe's npm tarballs (Node, claude-code and its native binary), cached and checked against their pinned integrity. */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Transport } from '../transport/types.ts';
import { ImageBuildError } from './progress.ts';
import type { NpmPin } from './recipe.ts';

/** A pinned npm tarball from the cache, or `npm pack`ed into it; either way checked against the pin's integrity. */
export async function fetchNpmTarball(transport: Transport, pin: NpmPin, dir: string): Promise<{ path: string; cached: boolean }> {
  const file = join(dir, `${pin.name.replace(/^@/, '').replace('/', '-')}-${pin.version}.tgz`);
  if ((await exists(file)) && (await integrityOf(file)) === pin.integrity) return { path: file, cached: true };
  const tmp = join(dir, `.pack-${randomBytes(4).toString('hex')}`);
  await mkdir(tmp, { recursive: true });
  try {
    const result = await transport.run(['npm', 'pack', '--silent', '--pack-destination', tmp, spec(pin)]);
    if (result.exitCode !== 0) throw new ImageBuildError('fetch', `npm pack ${spec(pin)}`, result);
    const [packed] = (await readdir(tmp)).filter((f) => f.endsWith('.tgz'));
    if (packed === undefined) throw new ImageBuildError('fetch', `npm pack ${spec(pin)} left no tarball`, result);
    const integrity = await integrityOf(join(tmp, packed));
    if (integrity !== pin.integrity) {
      throw new ImageBuildError('fetch', `${spec(pin)}: integrity ${integrity} does not match the recipe's ${pin.integrity}`);
    }
    await rename(join(tmp, packed), file);
    return { path: file, cached: false };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

export function spec(pin: NpmPin): string {
  return `${pin.name}@${pin.version}`;
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function integrityOf(file: string): Promise<string> {
  const hash = createHash('sha512');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return `sha512-${hash.digest('base64')}`;
}
