import { describe, inject, it } from 'vitest';
import { DockerEngine } from '../../src/engines/docker/engine.ts';
import { describeBackendContract } from '../../src/testing/backend-contract.ts';
import { recordCalls } from '../../src/testing/engine-contract.ts';
import { createProcessTransport } from '../../src/transport/process.ts';

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

// Rollback is faulted at the Engine (faultyEngine), and the suite ends by checking that no
// machine or network under its own labels is left: nothing here counts a shared engine's networks.
describeBackendContract(
  'docker',
  () => {
    if (setup.engine !== 'ready') throw new Error(`docker test image unavailable: ${setup.reason}`);
    const { transport, calls } = recordCalls(createProcessTransport());
    return {
      engine: new DockerEngine({ transport }),
      image: setup.image,
      calls,
      // The agent image has git (and curl, for the daemon probes); without it the git case is skipped.
      ...(agentImage.state === 'ready' ? { gitImage: agentImage.image } : {}),
    };
  },
  skipReason !== undefined ? { skip: skipReason } : {},
);
