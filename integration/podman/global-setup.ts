/**
 * vitest globalSetup for the integration project: when podman runs here, make sure the local
 * busybox test image exists in podman's storage (built with podman itself: nothing is pulled)
 * and hand its name to the tests through `inject('podman')`.
 */
import type { TestProject } from 'vitest/node';
import { podmanEnvironment } from '../../src/engines/podman/containers-conf.ts';
import { PodmanEngine } from '../../src/engines/podman/engine.ts';
import { buildAgentImage } from '../../src/image/build.ts';
import { createProcessTransport } from '../../src/transport/process.ts';
import { ensureTestImage } from '../docker/image.ts';

export type PodmanTestSetup =
  /** podman does not run: skip (but fail in CI). */
  | { readonly engine: 'absent'; readonly reason: string }
  /** podman runs but the test image could not be made: always a failure. */
  | { readonly engine: 'broken'; readonly reason: string }
  | {
      readonly engine: 'ready';
      readonly image: string;
      readonly version: string;
      readonly built: boolean;
      /** The agent image in podman's storage (it has git and curl), when it could be made. */
      readonly agentImage?: string;
    };

declare module 'vitest' {
  export interface ProvidedContext {
    podman: PodmanTestSetup;
  }
}

export default async function setup(project: TestProject): Promise<void> {
  const transport = createProcessTransport();
  let version: string;
  try {
    version = await new PodmanEngine({ transport }).version();
  } catch (error) {
    const reason = `podman does not run here (${lastLine(error)})`;
    console.warn(`[podman] integration tests will be skipped${process.env.CI === 'true' ? ' and fail in CI' : ''}: ${reason}`);
    project.provide('podman', { engine: 'absent', reason });
    return;
  }
  try {
    // The stage build runs a container: it needs the same containers.conf as the adapter's calls.
    const { env } = await podmanEnvironment();
    const { image, built } = await ensureTestImage(transport, { program: 'podman', env });
    const agentImage = await podmanAgentImage();
    project.provide('podman', { engine: 'ready', image, version, built, ...(agentImage ? { agentImage } : {}) });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    console.warn(`[podman] the podman test image could not be made: ${reason}`);
    project.provide('podman', { engine: 'broken', reason });
  }
}

/** The agent image in podman's storage: loaded from docker's build of the same recipe, else built with podman (needs root and the npm registry). */
async function podmanAgentImage(): Promise<string | undefined> {
  try {
    const build = await buildAgentImage({
      engine: 'podman',
      onProgress: (p) => console.log(`[podman agent-image ${(p.elapsedMs / 1000).toFixed(1)}s] ${p.step}: ${p.message}`),
    });
    console.log(`[podman] ${build.image} ${build.built ? 'made' : 'reused (content label matches)'} in ${(build.durationMs / 1000).toFixed(1)}s`);
    return build.image;
  } catch (error) {
    console.warn(`[podman] no agent image for podman (the git case will be skipped): ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
}

function lastLine(error: unknown): string {
  const lines = (error instanceof Error ? error.message : String(error)).split('\n').filter(Boolean);
  return lines.at(-1) ?? '';
}
