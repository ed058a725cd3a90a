import type { EngineCapabilities } from '../../engine/types.ts';
import type { Transport } from '../../transport/types.ts';
import { ContainerEngine, type ContainerEngineOptions } from '../container/engine.ts';
import { readJson, string } from '../container/json.ts';
import { dockerArgv } from './argv.ts';
import { DOCKER_CLI } from './cli.ts';
import { DockerError } from './errors.ts';

export type DockerEngineOptions = ContainerEngineOptions;

/** Docker has no allow-list of its own: egress goes through the proxy on the host route. */
const DOCKER_CAPABILITIES: EngineCapabilities = { treeUpload: true, hostRoute: true, egressAllowList: false, execAsUser: true, fork: true };

/**
 * A machine is a container kept alive by a trap-and-sleep shell; every call is one docker CLI
 * command through the shared Transport. `DOCKER_HOST` and friends flow through the environment.
 */
export class DockerEngine extends ContainerEngine {
  override readonly kind = 'docker';

  constructor(options: DockerEngineOptions) {
    super(DOCKER_CLI, DOCKER_CAPABILITIES, options);
  }

  /** The engine's version; throws a DockerError when no engine answers. */
  async serverVersion(): Promise<string> {
    const result = await this.ok(dockerArgv.info());
    return readJson(result.stdout, string, 'docker info');
  }
}

/** Whether a Docker engine answers through this transport, and its version; never throws for an absent one. */
export async function probeDocker(transport: Transport): Promise<{ answers: boolean; version?: string; error?: string }> {
  try {
    const result = await transport.run(dockerArgv.serverVersion(), { timeoutMs: 10_000 });
    if (result.exitCode === 0 && result.stdout.trim()) return { answers: true, version: result.stdout.trim() };
    return { answers: false, error: result.stderr.trim().split('\n')[0] || `docker exited ${result.exitCode}` };
  } catch (error) {
    return { answers: false, error: (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '' };
  }
}

export { DockerError };
