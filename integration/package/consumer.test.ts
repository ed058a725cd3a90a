/**
 * The contributor's kit as npm ships it: the packed tarball installed in a fresh project (from
 * local paths only, `npm install --offline`: no registry), where a backend test written as the
 * README shows runs both suites against the fake smolvm. Without vitest, `claude-bottle/testing`
 * says what is missing; the SDK itself needs no vitest. Stack traces resolve into the sources
 * the maps carry. And the README's code type-checks against the shipped .d.ts files, as a strict
 * consumer compiles it (no DOM lib, skipLibCheck off), so a public type reaching DOM-only types is caught.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installPacked, mapsWithoutSources, packFromSources, type PackedTarball, REPO } from '../../scripts/check-package.ts';
import { tsBlocks } from '../../scripts/check-readme.ts';

const execFileAsync = promisify(execFile);

let packed: PackedTarball | undefined;
let work = '';

/** A fresh ESM project with the tarball, its runtime dependencies and `extra` installed by npm, offline. */
async function project(name: string, extra: readonly string[]): Promise<string> {
  const dir = join(work, name);
  await installPacked(packed as PackedTarball, dir, extra);
  return dir;
}

const run = (cwd: string, file: string, args: string[] = []) =>
  execFileAsync(process.execPath, [...args, file], { cwd }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

describe('the packed package, installed in a fresh project', { timeout: 180_000 }, () => {
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'claude-bottle-consumer-'));
    packed = await packFromSources();
  }, 180_000);
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
    if (packed) await rm(packed.dir, { recursive: true, force: true });
  });

  it("a backend test written from the README runs both suites against the fake smolvm, with the project's vitest", async () => {
    const dir = await project('backend-author', ['vitest']);
    await writeFile(
      join(dir, 'fake-backend.test.ts'),
      `import { SmolvmEngine } from 'claude-bottle';
import { createFakeSmolvm } from 'claude-bottle/fakes';
import { describeBackendContract, describeEngineContract } from 'claude-bottle/testing';

const makeBackend = () => {
  const fake = createFakeSmolvm();
  fake.registerImage('/images/test.tar', {
    files: {
      '/etc/passwd': 'root:x:0:0:root:/root:/bin/sh\\nnode:x:1000:1000:node:/home/node:/bin/sh\\n',
      '/etc/group': 'root:x:0:\\nnode:x:1000:\\n',
      '/home/node': { type: 'dir', mode: 0o755, uid: 1000, gid: 1000 },
    },
  });
  return { engine: new SmolvmEngine({ transport: fake }), image: '/images/test.tar', calls: () => fake.calls.map((c) => c.argv) };
};
describeEngineContract('fake, from the tarball', makeBackend);
describeBackendContract('fake, from the tarball', makeBackend);
`,
    );
    const result = await execFileAsync(join(dir, 'node_modules', '.bin', 'vitest'), ['run', '--reporter', 'json'], {
      cwd: dir,
      maxBuffer: 32 * 1024 * 1024,
    }).catch((e: { stdout: string; stderr: string }) => e);
    const report = JSON.parse(result.stdout) as { numPassedTests: number; numFailedTests: number; numPendingTests: number; success: boolean };
    expect(report, result.stderr).toMatchObject({ success: true, numFailedTests: 0 });
    expect(report.numPassedTests).toBeGreaterThan(30);
  });

  it('without vitest: the SDK works, and claude-bottle/testing says vitest is missing and how to add it', async () => {
    const dir = await project('sdk-user', []);
    await writeFile(join(dir, 'sdk.mjs'), "const sdk = await import('claude-bottle'); console.log(typeof sdk.launch, typeof sdk.PodmanEngine);\n");
    expect(await run(dir, 'sdk.mjs')).toMatchObject({ code: 0, stdout: 'function function\n' });
    await writeFile(join(dir, 'testing.mjs'), "await import('claude-bottle/testing');\n");
    const testing = await run(dir, 'testing.mjs');
    expect(testing.code).not.toBe(0);
    expect(testing.stderr).toContain(
      'claude-bottle/testing needs vitest, a peer dependency of claude-bottle: install it in your project (`npm install --save-dev vitest`)',
    );
  });

  it("the README's ts blocks type-check against the shipped .d.ts files, in a strict consumer without the DOM lib", async () => {
    const dir = await project('typed-consumer', ['vitest', '@types/node']);
    const blocks = tsBlocks(await readFile(join(REPO, 'README.md'), 'utf8'));
    expect(blocks.map((b) => b.section)).toEqual(expect.arrayContaining(['SDK', 'Adding a backend']));
    const files = blocks.map((block, i) => ({ block, file: `block-${i + 1}-line-${block.line}.ts` }));
    for (const { block, file } of files) await writeFile(join(dir, file), block.code);
    // The README's MyEngine is the reader's own; any engine class with its constructor stands in.
    await writeFile(join(dir, 'my-engine.ts'), "export { SmolvmEngine as MyEngine } from 'claude-bottle';\n");
    const usesAwaitUsing = blocks.some((b) => /\bawait using\b/.test(b.code));
    await writeFile(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2023',
          lib: ['es2023', ...(usesAwaitUsing ? ['esnext.disposable'] : [])],
          types: ['node'],
          skipLibCheck: false,
          noEmit: true,
          // The backend block imports './my-engine.ts', as a project run with type stripping does.
          allowImportingTsExtensions: true,
        },
        files: [...files.map((f) => f.file), 'my-engine.ts'],
      }),
    );
    const tsc = await execFileAsync(join(REPO, 'node_modules', '.bin', 'tsc'), ['-p', join(dir, 'tsconfig.json')], { cwd: dir }).then(
      (r) => ({ code: 0, output: r.stdout + r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, output: e.stdout + e.stderr }),
    );
    expect(tsc.code, `tsc in ${dir}:\n${tsc.output}`).toBe(0);
  });

  it('stack traces resolve into sources the maps carry: an installed package has no src/, its maps do', async () => {
    const dir = await project('traces', []);
    await writeFile(
      join(dir, 'trace.mjs'),
      "const { parseAgentSpec } = await import('claude-bottle');\ntry { parseAgentSpec({ name: 'Bad Name' }); } catch (e) { console.log(e.stack); }\n",
    );
    const traced = await run(dir, 'trace.mjs', ['--enable-source-maps']);
    expect(traced.stdout).toMatch(/node_modules\/claude-bottle\/src\/agent\/(spec|schema)\.ts:\d+:\d+/);
    expect(await mapsWithoutSources(join(dir, 'node_modules', 'claude-bottle', 'dist'))).toEqual([]);
    // And the check can fail: a map without its sources is named.
    const bare = join(work, 'bare-map');
    await mkdir(bare);
    await writeFile(join(bare, 'x.js.map'), JSON.stringify({ version: 3, sources: ['../src/x.ts'], mappings: '' }));
    expect(await mapsWithoutSources(bare)).toEqual(['x.js.map']);
  });
});
