import { describe, expect, it } from 'vitest';
import { createFakeSmolvm, type FakeSmolvm } from '../../../fakes/index.ts';
import { type ForkClone, LAUNCH_LABEL } from '../../engine/types.ts';
import type { Transport } from '../../transport/types.ts';
import { SmolvmEngine } from './engine.ts';

const network = { enabled: false, allowHosts: [], allowCidrs: [] } as const;
const LAUNCH = '0123456789abcdef';
const clone = (name: string): ForkClone => ({ name, labels: {}, network });
const isFork = (name: string) => (argv: readonly string[]) => argv.includes('fork') && argv.at(-1) === name;
const BOOM = { exitCode: 1, stderr: 'Error: config operation failed: fork: boom\n' };

async function golden(labels: Record<string, string>): Promise<{ fake: FakeSmolvm; engine: SmolvmEngine }> {
  const fake = createFakeSmolvm();
  const engine = new SmolvmEngine({ transport: fake });
  await engine.create({ name: 'gold', image: 'alpine', labels, network });
  await engine.start('gold');
  return { fake, engine };
}

describe('SmolvmEngine.fork rollback', () => {
  it('removes the clones it made, read back by the launch id they inherit from the golden', async () => {
    const { fake, engine } = await golden({ [LAUNCH_LABEL]: LAUNCH });
    fake.injectFault(isFork('c-3'), BOOM);
    await expect(engine.fork('gold', [clone('c-1'), clone('c-2'), clone('c-3')])).rejects.toThrow(/boom/);
    expect(fake.machineNames()).toEqual(['gold']);
    // Each went by a status read-back first, never by name alone.
    const verbs = fake.calls.slice(-4).map((c) => c.argv.slice(2, 5).join(' '));
    expect(verbs).toEqual(['status --name c-2', 'delete --name c-2', 'status --name c-1', 'delete --name c-1']);
  });

  it('spares a namesake made after the clone was lost', async () => {
    const { fake } = await golden({ [LAUNCH_LABEL]: LAUNCH });
    // Between the failing fork call and the rollback, someone deletes c-1 and makes their own c-1.
    const racing: Transport = {
      run: async (argv, options) => {
        if (isFork('c-2')(argv)) {
          await fake.run(['smolvm', 'machine', 'delete', '--name', 'c-1', '-f']);
          await fake.run(['smolvm', 'machine', 'create', '--name', 'c-1', '--label', 'owner=someone-else']);
          fake.injectFault(1, BOOM);
        }
        return fake.run(argv, options);
      },
    };
    await expect(new SmolvmEngine({ transport: racing }).fork('gold', [clone('c-1'), clone('c-2')])).rejects.toThrow(/boom/);
    expect(fake.machine('c-1')?.labels).toEqual({ owner: 'someone-else' });
  });

  it('leaves the clones of a golden without a launch id: nothing proves them ours', async () => {
    const { fake, engine } = await golden({ role: 'gold' });
    fake.injectFault(isFork('c-2'), BOOM);
    await expect(engine.fork('gold', [clone('c-1'), clone('c-2')])).rejects.toThrow(/boom/);
    expect(fake.machineNames()).toEqual(['c-1', 'gold']);
    expect(fake.callsMatching(['machine', 'delete'])).toEqual([]);
  });

  it('a failed forkable boot leaves the running golden it stopped running again, not stopped', async () => {
    const { fake, engine } = await golden({ [LAUNCH_LABEL]: LAUNCH });
    fake.injectFault((argv) => argv.includes('--forkable'), BOOM);
    await expect(engine.fork('gold', [clone('c-1')])).rejects.toThrow(/boom/);
    expect((await engine.status('gold'))?.state).toBe('running');
    expect((await engine.exec('gold', ['true'])).exitCode).toBe(0);
  });
});
