#!/usr/bin/env node
/**
 * `npm run check:readme`: the README's TypeScript is code, so it is checked as code. Every
 * ```ts block is type-checked as a module of its own, with `claude-bottle` (and its `/fakes` and
 * `/testing` subpaths) mapped to this checkout's sources; then the "SDK" block runs as it is
 * (it uses the in-memory fake), and the "Adding a backend" block runs as the vitest file it is,
 * its `MyEngine` played by the smolvm adapter over the fake (`createProcessTransport` answers with
 * the fake there, and `my-test-image:1` is a test image the fake has).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const REPO = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(REPO, 'node_modules', '.bin');

export interface ReadmeBlock {
  /** The `## ` heading the block sits under. */
  readonly section: string;
  readonly line: number;
  readonly code: string;
}

/** Every ```ts block, with the section it belongs to. */
export function tsBlocks(markdown: string): ReadmeBlock[] {
  const blocks: ReadmeBlock[] = [];
  let section = '';
  let open: { line: number; lines: string[] } | undefined;
  markdown.split('\n').forEach((text, i) => {
    if (open) {
      if (text.startsWith('```')) {
        blocks.push({ section, line: open.line, code: `${open.lines.join('\n')}\n` });
        open = undefined;
      } else open.lines.push(text);
    } else if (/^```ts\s*$/.test(text)) open = { line: i + 1, lines: [] };
    else if (text.startsWith('## ')) section = text.slice(3).trim();
  });
  return blocks;
}

const MY_ENGINE = `// The README's MyEngine, played by the smolvm adapter over the in-memory fake (see check-readme.ts).
import { type MachineConfig, SmolvmEngine, type Transport } from 'claude-bottle';

export class MyEngine extends SmolvmEngine {
  constructor(options: { transport: Transport }) {
    super(options);
  }
  override create(config: MachineConfig): Promise<void> {
    return super.create({ ...config, image: config.image.replace(/^my-test-image:1/, '/images/claude-bottle-node.tar') });
  }
}
`;

/** \`claude-bottle\` for the backend block's run: everything, except that the default transport is a fake with the test image. */
const SHIM = `export * from '${REPO}src/index.ts';
import { createFakeSmolvm } from '${REPO}fakes/index.ts';
import { registerNodeImage } from '${REPO}src/testing/fake-node-image.ts';

export function createProcessTransport() {
  const fake = createFakeSmolvm();
  registerNodeImage(fake);
  return fake;
}
`;

export interface ReadmeCheck {
  readonly blocks: readonly ReadmeBlock[];
  readonly typecheck: { readonly ok: boolean; readonly output: string };
  readonly runs: { readonly section: string; readonly ok: boolean; readonly output: string }[];
}

export async function checkReadme(readme = join(REPO, 'README.md')): Promise<ReadmeCheck> {
  const blocks = tsBlocks(await readFile(readme, 'utf8'));
  const dir = await mkdtemp(join(tmpdir(), 'claude-bottle-readme-'));
  try {
    await symlink(join(REPO, 'node_modules'), join(dir, 'node_modules'), 'dir');
    // Snippets are ES modules, as the package is.
    await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true }));
    const files = blocks.map((block, i) => ({ block, file: `block-${i + 1}-line-${block.line}${block.section === 'Adding a backend' ? '.test' : ''}.ts` }));
    for (const { block, file } of files) await writeFile(join(dir, file), block.code);
    await writeFile(join(dir, 'my-engine.ts'), MY_ENGINE);
    await writeFile(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig(files.map((f) => f.file))));
    const typecheck = await attempt(join(BIN, 'tsc'), ['-p', join(dir, 'tsconfig.json')], dir);

    const runs: ReadmeCheck['runs'] = [];
    const state = { CLAUDE_BOTTLE_STATE_DIR: join(dir, 'state'), CLAUDE_BOTTLE_CACHE_DIR: join(dir, 'cache') };
    for (const { block, file } of files) {
      if (block.section === 'SDK') {
        // As a script, from the checkout (it launches examples/reviewer), with claude-bottle mapped to the sources.
        await writeFile(
          join(dir, 'sdk.test.ts'),
          `import { it } from 'vitest';\nit('README: SDK', async () => {\n  process.chdir(${JSON.stringify(REPO)});\n  await import('./${file}');\n}, 60_000);\n`,
        );
        runs.push({ section: 'SDK', ...(await vitest(dir, 'sdk.test.ts', false, state)) });
      } else if (block.section === 'Adding a backend') {
        runs.push({ section: 'Adding a backend', ...(await vitest(dir, file, true, state)) });
      }
    }
    return { blocks, typecheck, runs };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function tsconfig(files: string[]): unknown {
  return {
    extends: join(REPO, 'tsconfig.json'),
    // A snippet may leave a value unused (it shows what is there); everything else is strict.
    compilerOptions: {
      noEmit: true,
      noUnusedLocals: false,
      rootDir: '/',
      paths: {
        'claude-bottle': [join(REPO, 'src/index.ts')],
        'claude-bottle/fakes': [join(REPO, 'fakes/index.ts')],
        'claude-bottle/testing': [join(REPO, 'src/testing/index.ts')],
      },
    },
    files: [...files, 'my-engine.ts'],
  };
}

async function vitest(dir: string, file: string, shim: boolean, env: Record<string, string>): Promise<{ ok: boolean; output: string }> {
  if (shim) await writeFile(join(dir, 'claude-bottle-shim.ts'), SHIM);
  const alias = [
    { find: '/^claude-bottle\\/fakes$/', replacement: join(REPO, 'fakes/index.ts') },
    { find: '/^claude-bottle\\/testing$/', replacement: join(REPO, 'src/testing/index.ts') },
    { find: '/^claude-bottle$/', replacement: shim ? join(dir, 'claude-bottle-shim.ts') : join(REPO, 'src/index.ts') },
  ];
  const config = `export default { test: { include: [${JSON.stringify(file)}], testTimeout: 120_000, hookTimeout: 120_000 }, resolve: { alias: [${alias.map((a) => `{ find: ${a.find}, replacement: ${JSON.stringify(a.replacement)} }`).join(', ')}] } };\n`;
  const configFile = join(dir, `vitest.${file}.config.mjs`);
  await writeFile(configFile, config);
  return attempt(join(BIN, 'vitest'), ['run', '--config', configFile, '--root', dir], dir, env);
}

async function attempt(bin: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<{ ok: boolean; output: string }> {
  return execFileAsync(bin, args, { cwd, env: { ...process.env, ...env }, maxBuffer: 32 * 1024 * 1024 }).then(
    (r) => ({ ok: true, output: r.stdout + r.stderr }),
    (e: { stdout?: string; stderr?: string; message: string }) => ({ ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` || e.message }),
  );
}

async function main(): Promise<number> {
  const result = await checkReadme();
  console.log(`check-readme: ${result.blocks.length} ts blocks (${result.blocks.map((b) => `${b.section}, line ${b.line}`).join('; ')})`);
  console.log(`check-readme: type-check ${result.typecheck.ok ? 'ok' : `FAILED\n${result.typecheck.output}`}`);
  for (const run of result.runs) console.log(`check-readme: ${run.section} ${run.ok ? 'ran ok' : `FAILED\n${run.output}`}`);
  const missing = ['SDK', 'Adding a backend'].filter((s) => !result.runs.some((r) => r.section === s));
  if (missing.length) console.log(`check-readme: no ts block under ${missing.join(', ')}`);
  return result.typecheck.ok && result.runs.every((r) => r.ok) && !missing.length ? 0 : 1;
}

if (import.meta.main) process.exitCode = await main();
