import { createFakeSmolvm } from '../../fakes/index.ts';
import { SmolvmEngine } from '../engines/smolvm/engine.ts';
import { describeEngineContract, recordCalls } from './engine-contract.ts';
import { NODE_IMAGE, registerNodeImage } from './fake-node-image.ts';

describeEngineContract('smolvm (fake)', () => {
  const fake = createFakeSmolvm();
  registerNodeImage(fake);
  const { transport, calls } = recordCalls(fake);
  return { engine: new SmolvmEngine({ transport }), image: NODE_IMAGE, calls };
});
