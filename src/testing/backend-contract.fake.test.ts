import { createFakeSmolvm } from '../../fakes/index.ts';
import type { Engine } from '../engine/types.ts';
import { SmolvmEngine } from '../engines/smolvm/engine.ts';
import { describeBackendContract } from './backend-contract.ts';
import { NODE_IMAGE, registerNodeImage } from './fake-node-image.ts';

describeBackendContract('smolvm (fake)', () => {
  const fake = createFakeSmolvm();
  registerNodeImage(fake);
  return { engine: new SmolvmEngine({ transport: fake }), image: NODE_IMAGE, calls: () => fake.calls.map((call) => call.argv) };
});

/** The same adapter declaring no host route: the daemon cases skip, saying why, and a plan with daemons is refused up front. */
function withoutHostRoute(engine: Engine): Engine {
  return new Proxy(engine, {
    get(target, prop) {
      if (prop === 'capabilities') return { ...target.capabilities, hostRoute: false };
      if (prop === 'hostRoute') return undefined;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

describeBackendContract('smolvm (fake) without a host route', () => {
  const fake = createFakeSmolvm();
  registerNodeImage(fake);
  return { engine: withoutHostRoute(new SmolvmEngine({ transport: fake })), image: NODE_IMAGE };
});
