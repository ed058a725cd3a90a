// The list of test projects. Vitest 4+ no longer reads this file on its own:
// vitest.config.ts imports it into `test.projects`.
import type { TestProjectInlineConfiguration } from 'vitest/config';

export const projects: TestProjectInlineConfiguration[] = [
  {
    extends: true,
    test: {
      name: 'unit',
      include: ['src/**/*.test.ts', 'fakes/**/*.test.ts', 'bench/**/*.test.ts'],
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
