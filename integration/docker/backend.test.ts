import { describe, expect, inject, it } from 'vitest';
import { DockerEngine } from '../../src/engines/docker/engine.ts';
import { describeBackendContract, injectFaults } from '../../src/testing/backend-contract.ts';
import { recordCalls } from '../../src/testing/engine-contract.ts';
import { createExecaTransport } from '../../src/transport/execa.ts';

const setup = inject('docker');
const agentImage = inject('agentImage');
const skipReason = setup.engine === 'ready' ? undefined : setup.reason;

describe('docker backend availability', () => {
  it('a Docker engine answers and the test image is ready', (ctx) => {
    if (setup.engine === 'ready') return;
    if (setup.engine === 'broken') throw new Error(setup.reason);
    if (process.env.CI === 'true') throw new Error(`Docker tests must run in CI: ${setup.reason}. Run .ci/docker.sh first.`);
    ctx.skip(setup.reason);
  });
});

/** The per-bottle networks (`hostRoute`) that exist: the suite must leave none of its own behind. */
async function bottleNetworks(): Promise<string[]> {
  const result = await createExecaTransport().run(['docker', 'network', 'ls', '--format', '{{.Name}}', '--filter', 'label=claude-bottle.machine']);
  if (result.exitCode !== 0) throw new Error(`docker network ls: ${result.stderr}`);
  return result.stdout.split('\n').filter(Boolean).sort();
}
let networksBefore: string[] | undefined;

describe('docker bottle networks, before the contract', () => {
  it('are listed', async (ctx) => {
    if (skipReason !== undefined) return ctx.skip(skipReason);
    networksBefore = await bottleNetworks();
  });
});

describeBackendContract(
  'docker',
  () => {
    if (setup.engine !== 'ready') throw new Error(`docker test image unavailable: ${setup.reason}`);
    // A faulted call never reaches docker; it answers the way the daemon refuses a request.
    const faults = injectFaults(createExecaTransport(), () => ({ exitCode: 1, stderr: 'Error response from daemon: injected fault\n' }));
    const { transport, calls } = recordCalls(faults.transport);
    return {
      engine: new DockerEngine({ transport }),
      image: setup.image,
      calls,
      injectFault: faults.injectFault,
      // The agent image has git (and curl, for the daemon probes); without it the git case is skipped.
      ...(agentImage.state === 'ready' ? { gitImage: agentImage.image } : {}),
    };
  },
  skipReason !== undefined ? { skip: skipReason } : {},
);

describe('docker bottle networks, after the contract', () => {
  it('every network a launch made (one per bottle with daemons) is gone', async (ctx) => {
    if (skipReason !== undefined || networksBefore === undefined) return ctx.skip(skipReason ?? 'the networks were not listed before');
    expect(await bottleNetworks()).toEqual(networksBefore);
  });
});
