import { createFakeSmolvm } from '../../fakes/index.ts';
import { SmolvmEngine } from '../engines/smolvm/engine.ts';
import { injectFaults } from './doubles.ts';
import { describeEngineContract, recordCalls } from './engine-contract.ts';
import { NODE_IMAGE, registerNodeImage } from './fake-node-image.ts';

describeEngineContract('smolvm (fake)', () => {
  const fake = createFakeSmolvm();
  registerNodeImage(fake);
  // A faulted call answers as smolvm's own failure, and never reaches the fake.
  const transportFaults = injectFaults(fake, () => ({ exitCode: 1, stderr: 'Error: agent operation failed: injected fault (engine contract)\n' }));
  const { transport, calls } = recordCalls(transportFaults.transport);
  return { engine: new SmolvmEngine({ transport }), image: NODE_IMAGE, calls, transportFaults };
});
