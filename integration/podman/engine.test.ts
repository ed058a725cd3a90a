/** The engine contract against real podman, as root, with the busybox test image. */
import { describe, inject, it } from 'vitest';
import { PodmanEngine } from '../../src/engines/podman/engine.ts';
import { describeEngineContract, recordCalls } from '../../src/testing/engine-contract.ts';
import { createExecaTransport } from '../../src/transport/execa.ts';

const setup = inject('podman');
const skipReason = setup.engine === 'ready' ? undefined : setup.reason;

describe('podman availability', () => {
  it('podman runs and the test image is ready', (ctx) => {
    if (setup.engine === 'ready') return;
    if (setup.engine === 'broken') throw new Error(setup.reason);
    if (process.env.CI === 'true') throw new Error(`Podman tests must run in CI: ${setup.reason}. Install podman first (.ci/run does).`);
    ctx.skip(setup.reason);
  });
});

describeEngineContract(
  'podman',
  () => {
    if (setup.engine !== 'ready') throw new Error(`podman test image unavailable: ${setup.reason}`);
    const { transport, calls } = recordCalls(createExecaTransport());
    return { engine: new PodmanEngine({ transport }), image: setup.image, calls };
  },
  skipReason !== undefined ? { skip: skipReason } : {},
);
