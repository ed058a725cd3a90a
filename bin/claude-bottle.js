#!/usr/bin/env node
// Runs the built CLI when present (an installed package), else the TypeScript sources (a clone on Node >= 22.18).
import { existsSync } from 'node:fs';
const built = new URL('../dist/src/cli/main.js', import.meta.url);
const { main } = await import(existsSync(built) ? built.href : new URL('../src/cli/main.ts', import.meta.url).href);
process.exitCode = await main(process.argv.slice(2));
