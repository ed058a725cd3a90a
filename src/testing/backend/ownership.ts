/**
 * A launch never touches what is not its own. A machine someone else made under the name a
 * launch is given survives, byte for byte, every way that launch can fail: refused up front
 * when it is seen; and when it appears only after the check (a race, simulated by hiding it from
 * the check), a failed create, a missing image, a daemon that cannot start, or a fault at any
 * engine call all leave it as it was.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from '../vitest.ts';
import { launch, LaunchError, NameTakenError } from '../../bottle/launch.ts';
import type { Engine, MachineInfo } from '../../engine/types.ts';
import { faultyEngine } from '../doubles.ts';
import type { Plan } from '../../plan/plan.ts';
import type { BackendUnderTest, ContractContext } from './context.ts';
import { PROMPT } from './context.ts';

const MARKER = '/tmp/claude-bottle-foreign-marker';

/** The engine, except that the first `status(name)` does not see `name`: someone creates it right after the check. */
function hiddenOnce(engine: Engine, name: string): Engine {
  let hidden = false;
  return new Proxy(engine, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (prop === 'status') {
        return async (asked: string) => {
          if (!hidden && asked === name) {
            hidden = true;
            return undefined;
          }
          return target.status(asked);
        };
      }
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

export function ownershipCases(ctx: ContractContext): void {
  const { test, planFor, run } = ctx;

  /** A running machine that is not a bottle (no claude-bottle labels), holding a marker file. */
  const foreignMachine = async (sut: BackendUnderTest, name: string): Promise<{ snapshot: () => Promise<unknown> }> => {
    const { engine } = sut;
    await engine.create({ name, image: sut.image, labels: { 'claude-bottle-test.foreign': run }, network: { enabled: false, allowHosts: [], allowCidrs: [] } });
    await engine.start(name);
    const hostFile = join(ctx.work(), `marker-${name}`);
    await writeFile(hostFile, `foreign ${name} ${run}\n`);
    await engine.upload(name, hostFile, MARKER, { mode: 0o640, uid: 0, gid: 0 });
    const snapshot = async (): Promise<unknown> => {
      const info: MachineInfo | undefined = await engine.status(name);
      const marker = info ? await engine.exec(name, ['cat', MARKER]) : undefined;
      return { info, marker: marker && { exitCode: marker.exitCode, stdout: marker.stdout } };
    };
    return { snapshot };
  };

  test('a name that exists already, ours or not, is refused before anything is created; the machine is untouched', async (sut) => {
    const name = `cb-${run}-taken`;
    const foreign = await foreignMachine(sut, name);
    try {
      const before = await foreign.snapshot();
      const steps: string[] = [];
      const error = await launch(await planFor({ prompt: PROMPT }), { engine: sut.engine, name, onStep: (step) => steps.push(step) }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LaunchError);
      expect(error).toMatchObject({ step: 'check-name', machine: name });
      expect((error as LaunchError).cause).toBeInstanceOf(NameTakenError);
      expect((error as Error).message).toContain(`"${name}"`);
      expect(steps).toEqual(['check-name']);
      expect(await foreign.snapshot()).toEqual(before);
    } finally {
      await sut.engine.remove(name);
    }
  });

  test(
    'a foreign machine that takes the name after the check survives every way the launch fails, byte for byte',
    async (sut) => {
      const name = `cb-${run}-race`;
      const foreign = await foreignMachine(sut, name);
      try {
        const before = await foreign.snapshot();
        let launchCalls = 0;
        /** A launch that does not see the machine at its check; with `fault`, its nth engine call fails too. */
        const attempt = async (plan: Plan, fault?: number): Promise<LaunchError> => {
          const faulty = faultyEngine(hiddenOnce(sut.engine, name));
          if (fault !== undefined) faulty.failCall(fault);
          const error = await launch(plan, { engine: faulty.engine, name }).catch((e: unknown) => e);
          launchCalls = faulty.calls.length;
          expect(error).toBeInstanceOf(LaunchError);
          expect(
            await foreign.snapshot(),
            `the foreign machine after a launch failing at ${(error as LaunchError).step}${fault ? ` (fault at call ${fault})` : ''}`,
          ).toEqual(before);
          return error as LaunchError;
        };
        // The create itself fails: the name is taken.
        expect((await attempt(await planFor({ prompt: PROMPT }))).step).toBe('create');
        // An image the engine does not have.
        await attempt(await planFor({ prompt: PROMPT, image: `${sut.image}-missing-${run}` }));
        const daemons = sut.engine.capabilities.hostRoute;
        if (daemons) {
          // A daemon that cannot start (rolls back the route before any machine exists).
          const broken = join(ctx.work(), 'pipelock-broken');
          await writeFile(broken, '#!/bin/sh\necho broken >&2\nexit 1\n', { mode: 0o755 });
          expect((await attempt(await planFor({ egress: { allowHosts: ['example.com'] } }, { PIPELOCK_BIN: broken }))).step).toBe('bundle');
        }
        // A fault at each engine call of a launch (with a daemon where the engine can reach one), its rollback included.
        const plan = await planFor(daemons ? { prompt: PROMPT, supervise: {} } : { prompt: PROMPT, skills: ['changelog'] });
        await attempt(plan);
        const total = launchCalls;
        expect(total).toBeGreaterThan(0);
        for (let n = 1; n <= total; n++) await attempt(plan, n);
        expect(await ctx.leftovers()).toEqual([]);
      } finally {
        await sut.engine.remove(name);
      }
    },
    { kind: 'sweep' },
  );
}
