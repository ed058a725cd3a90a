import { defineConfig } from 'vitest/config';
import { projects } from './vitest.workspace.ts';

export default defineConfig({
  test: {
    projects,
    testTimeout: 30_000,
    // Integration skips must be visible: the default reporter lists skipped tests with reasons.
    reporters: ['default'],
  },
});
