import { createFakeSmolvm } from '../../fakes/index.ts';
import { SmolvmEngine } from '../engines/smolvm/engine.ts';
import { describeBackendContract } from './backend-contract.ts';
import { NODE_IMAGE, registerNodeImage } from './fake-node-image.ts';

describeBackendContract('smolvm (fake)', () => {
  const fake = createFakeSmolvm();
  registerNodeImage(fake);
  return {
    engine: new SmolvmEngine({ transport: fake }),
    image: NODE_IMAGE,
    calls: () => fake.calls.map((call) => call.argv),
    injectFault: (n) => fake.injectFault(n, { exitCode: 1, stderr: 'Error: agent operation failed: injected fault\n' }),
  };
});
