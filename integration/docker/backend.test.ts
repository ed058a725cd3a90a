import { describe, inject, it } from 'vitest';
import { DockerEngine } from '../../src/engine/docker.ts';
import { describeBackendContract, injectFaults } from '../../src/testing/backend-contract.ts';
import { recordCalls } from '../../src/testing/engine-contract.ts';
import { createExecaTransport } from '../../src/transport/execa.ts';

const setup = inject('docker');
const skipReason = setup.engine === 'ready' ? undefined : setup.reason;

describe('docker backend availability', () => {
  it('a Docker engine answers and the test image is ready', (ctx) => {
    if (setup.engine === 'ready') return;
    if (setup.engine === 'broken') throw new Error(setup.reason);
    if (process.env.CI === 'true') throw new Error(`Docker tests must run in CI: ${setup.reason}. Run .ci/docker.sh first.`);
    ctx.skip(setup.reason);
  });
});

describeBackendContract(
  'docker',
  () => {
    if (setup.engine !== 'ready') throw new Error(`docker test image unavailable: ${setup.reason}`);
    // A faulted call never reaches docker; it answers the way the daemon refuses a request.
    const faults = injectFaults(createExecaTransport(), () => ({ exitCode: 1, stderr: 'Error response from daemon: injected fault\n' }));
    const { transport, calls } = recordCalls(faults.transport);
    return { engine: new DockerEngine({ transport }), image: setup.image, calls, injectFault: faults.injectFault };
  },
  skipReason !== undefined ? { skip: skipReason } : {},
);
