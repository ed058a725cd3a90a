#!/usr/bin/env node
/**
 * `npm run check:package`: the package as npm would ship it, checked. It is built from this
 * checkout's sources in a scratch copy and packed (`npm pack`); then `publint` and
 * `@arethetypeswrong/cli` (ESM only) run on the tarball, and every source map in it must carry
 * its sources (an installed package has no src/ for a stack trace to point into).
 * `packFromSources` and `installPacked` are also what the tests and the bench install: the same
 * tarball, with the runtime dependencies only (a missing one fails there, as it would for a user).
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
export const REPO = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(REPO, 'node_modules', '.bin');

/** What `npm pack` reads, copied from the checkout (tests and local state left out). */
const SHIPPED_INPUTS = ['package.json', 'README.md', 'tsconfig.json', 'tsconfig.build.json', 'bin', 'src', 'fakes', 'scripts', 'tools'];

export interface PackedTarball {
  readonly tarball: string;
  /** Where it was built and packed; remove it when done. */
  readonly dir: string;
}

/** Builds dist from this checkout's sources in a scratch copy and packs it: the tarball npm would publish. */
export async function packFromSources(): Promise<PackedTarball> {
  const dir = await mkdtemp(join(tmpdir(), 'claude-bottle-pack-'));
  const stage = join(dir, 'stage');
  await mkdir(stage);
  for (const entry of SHIPPED_INPUTS) await cp(join(REPO, entry), join(stage, entry), { recursive: true });
  // The compiler's type packages (node, vitest, zod…) come from the checkout's node_modules.
  await symlink(join(REPO, 'node_modules'), join(stage, 'node_modules'), 'dir');
  // `npm run build`: the library (tsc) and the bundled CLI (esbuild), as published.
  await execFileAsync(join(BIN, 'tsc'), ['-p', join(stage, 'tsconfig.build.json')], { cwd: stage });
  await execFileAsync(process.execPath, ['tools/build-cli.ts'], { cwd: stage });
  const { stdout } = await execFileAsync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: stage });
  const [packed] = JSON.parse(stdout) as { filename: string }[];
  if (!packed) throw new Error(`npm pack printed no tarball: ${stdout}`);
  return { tarball: join(dir, packed.filename), dir };
}

/** The package's runtime dependencies, as package.json declares them. */
const RUNTIME_DEPS = async (): Promise<string[]> =>
  Object.keys((JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies);

/**
 * A fresh ESM project in `dir` with the tarball installed by npm, offline: its runtime
 * dependencies and `extra` (e.g. vitest, @types/node) come from this checkout's node_modules, so
 * nothing is fetched and nothing else is there. Returns the installed package's directory.
 */
export async function installPacked(packed: PackedTarball, dir: string, extra: readonly string[] = []): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'claude-bottle-consumer', private: true, type: 'module' }));
  const locals = [...(await RUNTIME_DEPS()), ...extra].map((dep) => join(REPO, 'node_modules', dep));
  await execFileAsync('npm', ['install', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', '--install-links=false', packed.tarball, ...locals], {
    cwd: dir,
  });
  return join(dir, 'node_modules', 'claude-bottle');
}

/** Source maps in `dir` that do not carry the source of every file they map. */
export async function mapsWithoutSources(dir: string): Promise<string[]> {
  const missing: string[] = [];
  for (const entry of await readdir(dir, { recursive: true })) {
    if (!entry.endsWith('.js.map')) continue;
    const map = JSON.parse(await readFile(join(dir, entry), 'utf8')) as { sources: string[]; sourcesContent?: (string | null)[] };
    if (map.sources.some((_, i) => typeof map.sourcesContent?.[i] !== 'string')) missing.push(entry);
  }
  return missing;
}

async function main(): Promise<number> {
  const packed = await packFromSources();
  let failed = false;
  try {
    console.log(`check-package: ${packed.tarball}`);
    for (const [tool, args] of [
      ['publint', ['run', packed.tarball, '--strict']],
      // ESM only, by design: a CommonJS consumer loads it with import().
      ['attw', [packed.tarball, '--profile', 'esm-only']],
    ] as const) {
      const result = await execFileAsync(join(BIN, tool), [...args]).then(
        (r) => ({ ok: true, out: r.stdout + r.stderr }),
        (e: { stdout?: string; stderr?: string; message: string }) => ({ ok: false, out: `${e.stdout ?? ''}${e.stderr ?? ''}` || e.message }),
      );
      console.log(`check-package: ${tool} ${result.ok ? 'ok' : 'FAILED'}\n${result.out.trim()}`);
      failed ||= !result.ok;
    }
    const unpacked = join(packed.dir, 'unpacked');
    await mkdir(unpacked);
    await execFileAsync('tar', ['-xzf', packed.tarball, '-C', unpacked]);
    const missing = await mapsWithoutSources(join(unpacked, 'package', 'dist'));
    console.log(`check-package: source maps ${missing.length ? `without their sources: ${missing.join(', ')}` : 'carry their sources'}`);
    failed ||= missing.length > 0;
  } finally {
    await rm(packed.dir, { recursive: true, force: true });
  }
  return failed ? 1 : 0;
}

if (import.meta.main) process.exitCode = await main();
