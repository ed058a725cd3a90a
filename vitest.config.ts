import { defineConfig } from 'vitest/config';
import { projects } from './vitest.workspace.ts';

export default defineConfig({
  test: {
    projects,
    testTimeout: 30_000,
    // Skips stay visible: the default reporter lists them. CI also keeps a JSON report, from
    // which .ci/run prints a plain "N passed, N failed, N skipped" line.
    reporters: process.env.VITEST_JSON_REPORT ? ['default', ['json', { outputFile: process.env.VITEST_JSON_REPORT }]] : ['default'],
  },
});
