import { describe, expect, it } from 'vitest';
import { createFakeSmolvm } from '../../fakes/index.ts';
import { EngineCommandError } from '../errors.ts';
import { SmolvmEngine } from '../engines/smolvm/engine.ts';
import { execArgvs, faultyEngine } from './doubles.ts';
import { NODE_IMAGE, registerNodeImage } from './fake-node-image.ts';
import { BASE_TOOLS, imageProblems, requirementsError } from './requirements.ts';

const network = { enabled: false, allowHosts: [], allowCidrs: [] };

describe('faultyEngine', () => {
  it('fails exactly the k-th engine call from now, without reaching the adapter, and counts every call', async () => {
    const fake = createFakeSmolvm();
    const faulty = faultyEngine(new SmolvmEngine({ transport: fake }));
    await faulty.engine.create({ name: 'm', image: 'alpine', labels: {}, network });
    faulty.failCall(2);
    await faulty.engine.start('m');
    const before = fake.calls.length;
    const error = await faulty.engine.exec('m', ['true']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineCommandError);
    expect(error).toMatchObject({
      kind: 'unknown',
      argv: ['smolvm', 'exec', 'm'],
      message: expect.stringMatching(/^injected fault at engine call 3 \(exec\)/),
    });
    expect(fake.calls.length, 'the faulted call never reached smolvm').toBe(before);
    expect((await faulty.engine.exec('m', ['echo', 'hi'])).stdout).toBe('hi\n');
    expect(faulty.calls.map((c) => c.method)).toEqual(['create', 'start', 'exec', 'exec']);
    expect(execArgvs(faulty.calls)).toEqual([['true'], ['echo', 'hi']]);
    // Not engine calls: they pass through uncounted.
    expect(faulty.engine.capabilities).toEqual(new SmolvmEngine({ transport: fake }).capabilities);
    expect(faulty.engine.kind).toBe('smolvm');
    expect(faulty.calls).toHaveLength(4);
    expect(() => faulty.failCall(0)).toThrow(RangeError);
    // The fork verbs are engine calls too; a fault no call reached is cleared by disarm().
    faulty.failCall(1);
    await expect(faulty.engine.fork?.('m', [{ name: 'c', labels: {}, network }], { labels: {} })).rejects.toThrow(/injected fault at engine call 5 \(fork\)/);
    faulty.failCall(1);
    faulty.disarm();
    expect((await faulty.engine.exec('m', ['true'])).exitCode).toBe(0);
  });
});

describe('the suites check their requirements up front', () => {
  it('names everything the test image lacks', async () => {
    const fake = createFakeSmolvm();
    registerNodeImage(fake);
    const engine = new SmolvmEngine({ transport: fake });
    for (const [name, image] of [
      ['good', NODE_IMAGE],
      ['bare', 'alpine'],
    ] as const) {
      await engine.create({ name, image, labels: {}, network });
      await engine.start(name);
    }
    expect(await imageProblems(engine, 'good', { tools: BASE_TOOLS, probeTool: true })).toEqual([]);
    const problems = await imageProblems(engine, 'bare', { tools: [...BASE_TOOLS, 'no-such-tool'], probeTool: true });
    expect(problems).toEqual([
      'has no-such-tool on PATH',
      expect.stringMatching(/^has a user node with uid and gid 1000 \(got /),
      expect.stringMatching(/^has \/home\/node owned by node, 1000:1000 \(got /),
    ]);
    const error = requirementsError('backend contract (smolvm)', 'alpine', problems, ['`openssl` (to make the CA case a certificate): not found on PATH']);
    expect(error?.message).toMatch(
      /^backend contract \(smolvm\): the test setup is missing what the suite needs[^\n]*\n {2}- the test image alpine must be one that has no-such-tool on PATH\n/,
    );
    expect(error?.message).toContain('  - this host needs `openssl` (to make the CA case a certificate): not found on PATH');
    expect(requirementsError('x', 'i', [], [])).toBeUndefined();
  });
});
