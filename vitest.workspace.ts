// The list of test projects. Vitest 4+ no longer reads this file on its own:
// vitest.config.ts imports it into `test.projects`.
import { availableParallelism } from 'node:os';
import type { TestProjectInlineConfiguration } from 'vitest/config';

export const projects: TestProjectInlineConfiguration[] = [
  {
    extends: true,
    test: {
      name: 'unit',
      include: ['src/**/*.test.ts', 'fakes/**/*.test.ts', 'bench/**/*.test.ts'],
      // Vitest's default is one worker fewer than the cores: one on a 2-core machine. The slow
      // unit tests wait on child processes and sockets, so one worker per core overlaps them.
      maxWorkers: availableParallelism(),
      // No fresh module graph per file: importing the sources again for each of ~80 files was
      // half the project's wall time. Tests hold no module state between files (the one module
      // mock re-imports what it mocks for).
      isolate: false,
    },
  },
  {
    extends: true,
    test: {
      name: 'integration',
      include: ['integration/**/*.test.ts'],
      // podman's after the agent image's: podman loads docker's build of it when there is one.
      globalSetup: ['integration/docker/global-setup.ts', 'integration/image/global-setup.ts', 'integration/podman/global-setup.ts'],
      testTimeout: 300_000,
      hookTimeout: 600_000,
      fileParallelism: false,
    },
  },
];

export default projects;
