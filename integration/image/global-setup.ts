/**
 * vitest globalSetup for the integration project: when a Docker engine answers, build the agent
 * image once (a no-op when an image with the recipe's content label exists) and hand it to the
 * tests through `inject('agentImage')`. Prints the image size and how long the build took.
 */
import type { TestProject } from 'vitest/node';
import { DockerEngine } from '../../src/engines/docker/engine.ts';
import { buildAgentImage } from '../../src/image/build.ts';
import { createProcessTransport } from '../../src/transport/process.ts';

export type AgentImageSetup =
  /** No engine answers: skip (but fail in CI). */
  | { readonly state: 'absent'; readonly reason: string }
  /** An engine answers but the image could not be built: skip locally, fail in CI. */
  | { readonly state: 'broken'; readonly reason: string }
  | { readonly state: 'ready'; readonly image: string; readonly built: boolean; readonly durationMs: number; readonly sizeBytes: number };

declare module 'vitest' {
  export interface ProvidedContext {
    agentImage: AgentImageSetup;
  }
}

export default async function setup(project: TestProject): Promise<void> {
  const transport = createProcessTransport();
  const inCI = process.env.CI === 'true';
  try {
    await new DockerEngine({ transport }).serverVersion();
  } catch (error) {
    const reason = `no Docker engine answers (${(error instanceof Error ? error.message : String(error)).split('\n').filter(Boolean).at(-1)})`;
    console.warn(`[agent-image] tests will be skipped${inCI ? ' and fail in CI' : ''}: ${reason}`);
    project.provide('agentImage', { state: 'absent', reason });
    return;
  }
  try {
    const build = await buildAgentImage({
      transport,
      onProgress: (p) => console.log(`[agent-image ${(p.elapsedMs / 1000).toFixed(1)}s] ${p.step}: ${p.message}`),
    });
    console.log(
      `[agent-image] ${build.image} ${build.built ? 'built' : 'reused (content label matches)'} in ${(build.durationMs / 1000).toFixed(1)}s; size ${(build.sizeBytes / 1e6).toFixed(0)} MB`,
    );
    project.provide('agentImage', { state: 'ready', image: build.image, built: build.built, durationMs: build.durationMs, sizeBytes: build.sizeBytes });
  } catch (error) {
    const reason = `the agent image could not be built: ${error instanceof Error ? error.message : String(error)}`;
    console.warn(`[agent-image] ${reason}`);
    project.provide('agentImage', { state: 'broken', reason });
  }
}
