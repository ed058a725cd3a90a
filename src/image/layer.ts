/** The agent image's tools layer, laid out on the host as it lands on `/`. */
import { chmod, mkdir, readdir, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Transport } from '../transport/types.ts';
import { ImageBuildError } from './progress.ts';
import { AGENT_USER, DEBIAN, DEBIAN_ARCH, GUEST_LAYOUT, type ImageArch, PINS } from './recipe.ts';

/**
 * Builds `<stage>/root`, the tools layer as it lands on `/`: `/usr/local/bin/node`; the claude-code package under `/usr/local/lib/node_modules` with the
 * native binary in place of its `bin/claude.exe` stub (what its postinstall does); a
 * `/usr/local/bin/claude` link; a manifest of what went in.
 */
export async function layOutTools(
  stage: string,
  tarballs: { node: string; claudeCode: string; native: string },
  transport: Transport,
  arch: ImageArch,
): Promise<string> {
  const unpack = async (tarball: string, into: string): Promise<string> => {
    await mkdir(into, { recursive: true });
    const result = await transport.run(['tar', '-xzf', tarball, '-C', into, '--no-same-owner', '--no-same-permissions']);
    if (result.exitCode !== 0) throw new ImageBuildError('layer', `unpacking ${tarball}`, result);
    return join(into, 'package');
  };
  const scratch = join(stage, '.scratch');
  const root = join(stage, 'root');
  const node = await unpack(tarballs.node, join(scratch, 'node'));
  const wrapper = await unpack(tarballs.claudeCode, join(scratch, 'claude-code'));
  const native = await unpack(tarballs.native, join(scratch, 'native'));

  const local = join(root, 'usr', 'local');
  const pkgDir = join(root, ...GUEST_LAYOUT.claudePackage.split('/').filter(Boolean));
  for (const dir of [join(local, 'bin'), join(local, 'share', 'doc', 'node'), join(local, 'share', 'claude-bottle'), join(pkgDir, '..')]) {
    await mkdir(dir, { recursive: true });
  }
  await rename(join(node, 'bin', 'node'), join(root, ...GUEST_LAYOUT.node.split('/').filter(Boolean)));
  await rename(join(node, 'LICENSE'), join(local, 'share', 'doc', 'node', 'LICENSE'));
  await rename(wrapper, pkgDir);
  await rename(join(native, 'claude'), join(pkgDir, 'bin', 'claude.exe'));
  await symlink('../lib/node_modules/@anthropic-ai/claude-code/bin/claude.exe', join(root, ...GUEST_LAYOUT.claude.split('/').filter(Boolean)));
  const manifest = {
    claudeCode: PINS[arch].claudeCode,
    claudeCodeNative: PINS[arch].claudeCodeNative,
    node: PINS[arch].node,
    debian: {
      suite: DEBIAN.suite,
      variant: DEBIAN.variant,
      packages: DEBIAN.packages,
      arch: DEBIAN_ARCH[arch],
      versions: '/usr/local/share/claude-bottle/debian-packages.txt',
    },
    user: AGENT_USER,
  };
  await writeFile(join(root, ...GUEST_LAYOUT.manifest.split('/').filter(Boolean)), `${JSON.stringify(manifest, null, 2)}\n`);
  await rm(scratch, { recursive: true, force: true });
  // Modes as a package manager would leave them, whatever the host umask; `root` maps onto `/`.
  await normalizeModes(root);
  await chmod(join(pkgDir, 'bin', 'claude.exe'), 0o755);
  await chmod(join(root, ...GUEST_LAYOUT.node.split('/').filter(Boolean)), 0o755);
  return root;
}

/** Directories 0755, files 0644 (0755 when any execute bit is set); symlinks untouched. */
async function normalizeModes(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await normalizeModes(path);
    else if (entry.isFile()) await chmod(path, ((await stat(path)).mode & 0o111) !== 0 ? 0o755 : 0o644);
  }
}
