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
const { main } = await import(useSource ? source.href : new URL('../dist/src/cli/main.js', import.meta.url).href);
process.exitCode = await main(process.argv.slice(2));
