// Bundles the CLI for the published package: dist/cli/main.js plus one chunk per command (and
// the chunks they share), so `claude-bottle --help` loads commander and the command table only,
// and `exec` loads what exec needs. esbuild: one dependency, no config, and the library's types
// come from tsc anyway (a bundler that also rolls up .d.ts files has nothing to do here).
import { build } from 'esbuild';
import { rm } from 'node:fs/promises';

const outdir = 'dist/cli';
await rm(outdir, { recursive: true, force: true });
const result = await build({
  entryPoints: { main: 'src/cli/main.ts' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22.18',
  chunkNames: 'chunks/[name]-[hash]',
  // Bundled CommonJS dependencies call require() for Node's built-ins.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  metafile: true,
  logLevel: 'warning',
});
const outputs = Object.entries(result.metafile.outputs).filter(([file]) => file.endsWith('.js'));
const kb = (bytes: number): string => `${(bytes / 1024).toFixed(0)} KiB`;
const main = outputs.find(([file]) => file.endsWith('/main.js'));
console.log(`dist/cli: ${outputs.length} files, ${kb(outputs.reduce((n, [, o]) => n + o.bytes, 0))}; main.js ${kb(main?.[1].bytes ?? 0)}`);
