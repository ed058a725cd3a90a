#!/usr/bin/env node
import { loadEntry } from './entry.js';

// `claude-bottle ls | head`: a reader that stops early is not a failure.
process.stdout.on('error', (error) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(process.exitCode ?? 0);
});
const { main } = await loadEntry(import.meta.url, { name: 'claude-bottle', source: '../src/cli/main.ts', built: '../dist/cli/main.js', failureCode: 1 });
process.exitCode = await main(process.argv.slice(2));
