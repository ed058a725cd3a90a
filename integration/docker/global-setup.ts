/**
 * vitest globalSetup for the integration project: when a Docker engine answers, make sure the
 * local busybox test image exists and hand its name to the tests through `inject('docker')`.
 *
 * The probe is the docker CLI itself (the adapter's own path, contexts and DOCKER_HOST included),
 * not testcontainers' API client, which could reach a different engine than the CLI does.
 */
import type { TestProject } from 'vitest/node';
import { DockerEngine } from '../../src/engines/docker/engine.ts';
import { createProcessTransport } from '../../src/transport/process.ts';
import { ensureTestImage } from './image.ts';

export type DockerTestSetup =
  /** No engine answers: skip (but fail in CI). */
  | { readonly engine: 'absent'; readonly reason: string }
  /** An engine answers but the test image could not be made: always a failure. */
  | { readonly engine: 'broken'; readonly reason: string }
  | { readonly engine: 'ready'; readonly image: string; readonly serverVersion: string; readonly built: boolean };

declare module 'vitest' {
  export interface ProvidedContext {
    docker: DockerTestSetup;
  }
}

export default async function setup(project: TestProject): Promise<void> {
  const transport = createProcessTransport();
  let serverVersion: string;
  try {
    serverVersion = await new DockerEngine({ transport }).serverVersion();
  } catch (error) {
    const reason = `no Docker engine answers (${lastLine(error)})`;
    // The reporter folds an all-skipped file into one line; say why once, up front.
    console.warn(`[docker] integration tests will be skipped${process.env.CI === 'true' ? ' and fail in CI' : ''}: ${reason}`);
    project.provide('docker', { engine: 'absent', reason });
    return;
  }
  try {
    const { image, built } = await ensureTestImage(transport);
    project.provide('docker', { engine: 'ready', image, serverVersion, built });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    console.warn(`[docker] the docker test image could not be made: ${reason}`);
    project.provide('docker', { engine: 'broken', reason });
  }
}

function lastLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const lines = message.split('\n').filter(Boolean);
  return lines.at(-1) ?? message;
}
