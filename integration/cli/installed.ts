/**
 * The package as `npm install` would lay it out: `npm pack`, unpacked into
 * `<dir>/node_modules/claude-bottle`, beside links to this checkout's dependencies (so nothing
 * is fetched). Under node_modules the bins run the built JavaScript in dist/, as a user's would:
 * run `npm run build` first.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface InstalledPackage {
  /** The package's own directory: `<dir>/node_modules/claude-bottle`. */
  readonly root: string;
  /** `node_modules/.bin/claude-bottle`'s target. */
  readonly bin: string;
}

export async function installPackage(dir: string): Promise<InstalledPackage> {
  if (!existsSync(join(ROOT, 'dist/cli/main.js')) || !existsSync(join(ROOT, 'dist/src/index.js'))) {
    throw new Error('no dist/: run `npm run build` first');
  }
  const modules = join(dir, 'node_modules');
  const root = join(modules, 'claude-bottle');
  await mkdir(root, { recursive: true });
  const { stdout } = await execa('npm', ['pack', '--json', '--pack-destination', dir], { cwd: ROOT });
  const [{ filename }] = JSON.parse(stdout) as [{ filename: string }];
  await execa('tar', ['xzf', join(dir, filename), '-C', root, '--strip-components=1']);
  for (const entry of await readdir(join(ROOT, 'node_modules'))) {
    if (entry.startsWith('.') || entry === 'claude-bottle') continue;
    await symlink(join(ROOT, 'node_modules', entry), join(modules, entry));
  }
  return { root, bin: join(root, 'bin/claude-bottle.js') };
}
