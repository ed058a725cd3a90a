/**
 * Rollback, tested the same way for every backend: a clean launch maps each of its Engine-method
 * calls to the step that made it; then, for every call, a launch whose call fails (`faultyEngine`
 * throws an EngineCommandError in its place) must throw a LaunchError naming that step, with the
 * fault as cause, and leave no machine behind. With daemons, their processes must be stopped and
 * their route freed too.
 */
import { expect } from '../vitest.ts';
import { launch, LaunchError, type LaunchStep } from '../../bottle/launch.ts';
import { EngineCommandError } from '../../errors.ts';
import type { Plan } from '../../plan/plan.ts';
import { connectOutcome, execArgvs, type FaultyEngine, faultyEngine, pipelockPort, probedDaemons, tcpServers } from '../doubles.ts';
import type { ContractContext } from './context.ts';
import { PROMPT } from './context.ts';

interface Sweep {
  readonly plan: Plan;
  /** Watches the clean launch's steps. */
  readonly cleanOnStep?: (step: LaunchStep) => void;
  /** Per faulted launch: set up (before) and check (after) what the generic checks do not cover. */
  readonly around?: (
    n: number,
    from: number,
    faulty: FaultyEngine,
  ) => {
    readonly onStep?: (step: LaunchStep, machine: string) => void;
    after(step: LaunchStep, failed: LaunchError): Promise<void>;
  };
}

/** The steps of a clean launch's engine calls, in call order, and the daemons it probed. */
async function stepsOfCalls(ctx: ContractContext, faulty: FaultyEngine, options: Sweep): Promise<{ steps: LaunchStep[]; probed: string[] }> {
  const first = faulty.calls.length;
  const marks: { step: LaunchStep; from: number }[] = [];
  const onStep = (step: LaunchStep): void => {
    marks.push({ step, from: faulty.calls.length - first });
    options.cleanOnStep?.(step);
  };
  const clean = await launch(options.plan, { engine: faulty.engine, onStep });
  ctx.launched.add(clean.name);
  ctx.bottles.add(clean);
  const calls = faulty.calls.slice(first);
  const probed = probedDaemons(execArgvs(calls)).map((d) => d.name);
  await clean.remove();
  const steps = calls.map((_, call) => marks.findLast((m) => m.from <= call)?.step ?? (marks[0]?.step as LaunchStep));
  return { steps, probed };
}

async function sweep(ctx: ContractContext, options: Sweep): Promise<{ steps: LaunchStep[]; probed: string[]; faulty: FaultyEngine }> {
  const { engine } = ctx.sut();
  // Outside the route observer: a faulted hostRoute never reaches it, as it never reaches the engine.
  const faulty = faultyEngine(ctx.observed().engine);
  const clean = await stepsOfCalls(ctx, faulty, options);
  const stepOfCall = clean.steps;
  for (let n = 1; n <= stepOfCall.length; n++) {
    const step = stepOfCall[n - 1] as LaunchStep;
    const extra = options.around?.(n, faulty.calls.length, faulty);
    faulty.failCall(n);
    const error = await launch(options.plan, { engine: faulty.engine, ...(extra?.onStep ? { onStep: extra.onStep } : {}) }).then(
      (bottle) => {
        ctx.launched.add(bottle.name);
        ctx.bottles.add(bottle);
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(error, `fault at call ${n} (${step})`).toBeInstanceOf(LaunchError);
    const failed = error as LaunchError;
    ctx.launched.add(failed.machine);
    await ctx.observed().settle(failed.machine);
    expect([failed.step, failed.rollbackError], `fault at call ${n}`).toEqual([step, undefined]);
    expect(failed.cause, `fault at call ${n}`).toBeInstanceOf(EngineCommandError);
    expect((failed.cause as Error).message, `fault at call ${n}`).toMatch(/injected fault/);
    expect(await engine.status(failed.machine), `machine after a fault at call ${n}`).toBeUndefined();
    expect(await ctx.leftovers(), `machines after a fault at call ${n}`).toEqual([]);
    await extra?.after(step, failed);
  }
  return { ...clean, faulty };
}

export function faultCases(ctx: ContractContext): void {
  const { test, planFor } = ctx;

  test(
    'a fault at any engine call of a launch leaves no machine and names the step',
    async () => {
      const { steps } = await sweep(ctx, { plan: await planFor({ prompt: PROMPT, skills: ['code-review'] }) });
      // Provisioning may take one call (an engine with treeUpload) or several.
      expect(steps.slice(0, 2)).toEqual(['create', 'start']);
      expect(steps.length).toBeGreaterThan(2);
      for (const step of steps.slice(2)) expect(step).toMatch(/^provision-/);
    },
    { kind: 'sweep' },
  );

  test(
    'a fault at any engine call of a launch with daemons leaves no machine; the daemons are stopped and the route freed',
    async () => {
      const plan = await planFor({ prompt: PROMPT, supervise: {}, egress: { allowHosts: ['example.com'] } });
      expect(plan.daemons).toEqual(['pipelock', 'supervise']);
      const obs = ctx.observed();
      const servers = tcpServers();
      const afterBundle = new Set<LaunchStep>(['create', 'start', 'probe']);
      let serversUp = -1;
      const result = await sweep(ctx, {
        plan,
        cleanOnStep: (step) => {
          if (step === 'create') serversUp = tcpServers();
        },
        around: (n, from, faulty) => {
          let atRelease: { servers: number; ports: Map<string, string> } | undefined;
          // pipelock's config, read while its run dir exists (the rollback removes it).
          let proxyPort: number | undefined;
          obs.beforeRelease = async ({ route }) => {
            // The daemons this launch started, as far as they can be known: pipelock's config, the probes sent.
            const known = new Map<string, number>(probedDaemons(execArgvs(faulty.calls.slice(from))).map((d) => [d.name, d.port]));
            if (proxyPort !== undefined) known.set('pipelock', proxyPort);
            const ports = new Map<string, string>();
            for (const [name, p] of known) ports.set(name, await connectOutcome(route.bindHost, p));
            atRelease = { servers: tcpServers(), ports };
          };
          return {
            onStep: (step, machine) => {
              if (step === 'create') proxyPort = pipelockPort(plan, machine);
            },
            async after(step, failed) {
              obs.beforeRelease = undefined;
              expect(tcpServers(), `in-process daemons after a fault at call ${n}`).toBe(servers);
              if (step === 'route') return;
              expect(obs.routes.get(failed.machine)?.releases, `route releases after a fault at call ${n}`).toBe(1);
              expect(atRelease?.servers, `in-process daemons as the route is released, fault at call ${n}`).toBe(servers);
              const ports = Object.fromEntries(atRelease?.ports ?? []);
              expect(
                Object.values(ports).every((outcome) => outcome === 'refused'),
                `daemons after a fault at call ${n}: ${JSON.stringify(ports)}`,
              ).toBe(true);
              if (afterBundle.has(step) || step.startsWith('provision-')) expect(Object.keys(ports), `fault at call ${n}`).toContain('pipelock');
              if (step.startsWith('provision-')) expect(Object.keys(ports).sort(), `fault at call ${n}`).toEqual(['pipelock', 'supervise']);
            },
          };
        },
      });
      // supervise runs in this process (pipelock is a child process): one more TCP server while up.
      expect(serversUp).toBe(servers + 1);
      expect(result.probed).toEqual(['pipelock', 'supervise']);
      expect(tcpServers()).toBe(servers);
      for (const step of ['route', 'create', 'start', 'probe'] as const) expect(result.steps).toContain(step);
    },
    { kind: 'sweep', needs: ['hostRoute'] },
  );
}
