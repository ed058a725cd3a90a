/**
 * The backend contract against real podman, as root: prepare + launch + Bottle with the busybox
 * test image, the host daemons on podman's per-bottle bridge, rollback faulted at every engine
 * call. The git case needs an image with git: the agent image, when podman has it.
 */
import { inject } from 'vitest';
import { PodmanEngine } from '../../src/engines/podman/engine.ts';
import { describeBackendContract } from '../../src/testing/backend-contract.ts';
import { recordCalls } from '../../src/testing/engine-contract.ts';
import { createProcessTransport } from '../../src/transport/process.ts';

const setup = inject('podman');
const skipReason = setup.engine === 'ready' ? undefined : setup.reason;

describeBackendContract(
  'podman',
  () => {
    if (setup.engine !== 'ready') throw new Error(`podman test image unavailable: ${setup.reason}`);
    const { transport, calls } = recordCalls(createProcessTransport());
    return {
      engine: new PodmanEngine({ transport }),
      image: setup.image,
      calls,
      ...(setup.agentImage !== undefined ? { gitImage: setup.agentImage } : {}),
    };
  },
  skipReason !== undefined ? { skip: skipReason } : {},
);
