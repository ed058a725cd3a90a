/**
 * A fork's rollback, tested the same way for every backend that forks (`capabilities.fork`): from
 * a golden launched through `faultyEngine`, `golden.fork(2)` runs with a fault at its 1st engine
 * call, then at its 2nd, and so on, until the fork makes fewer calls than the fault's number and
 * succeeds. Each failed fork must throw a ForkError with the fault as its cause and leave nothing
 * of the forks: no clone, no fork base, no daemon, route, network or run dir; and the golden must
 * run commands again (an engine that froze it as a fork base, smolvm, must let it thaw).
 */
import { access } from 'node:fs/promises';
import { ForkError } from '../../bottle/fork.ts';
import { bottleRunDir } from '../../bottle/host-side.ts';
import { launch } from '../../bottle/launch.ts';
import { EngineCommandError } from '../../errors.ts';
import { connectOutcome, faultyEngine, type ObservedRoute, probedDaemons, tcpServers } from '../doubles.ts';
import { expect } from '../vitest.ts';
import { type ContractContext, PROMPT } from './context.ts';

/** More engine calls than a fork of two makes on any engine: the sweep fails there rather than run on. */
const MAX_FORK_CALLS = 80;

export function forkFaultCases(ctx: ContractContext): void {
  ctx.test(
    'a fault at any engine call of a fork leaves no fork, fork base, daemon or route, and the golden usable',
    async ({ engine }) => {
      // With a daemon where the engine can reach one: each fork then has its own route and daemon to undo.
      const withDaemons = engine.capabilities.hostRoute;
      const plan = await ctx.planFor(withDaemons ? { prompt: PROMPT, supervise: {} } : { prompt: PROMPT, skills: ['changelog'] });
      const obs = ctx.observed();
      // Outside the route observer, as in the launch sweep: a faulted hostRoute never reaches it.
      const faulty = faultyEngine(obs.engine);
      const golden = await launch(plan, { engine: faulty.engine });
      ctx.launched.add(golden.name);
      ctx.bottles.add(golden);
      const names = [`${golden.name}-f1`, `${golden.name}-f2`];
      const networks = async (): Promise<string[]> => ((await engine.listNetworks?.(ctx.agentLabels)) ?? []).map((n) => n.name).sort();
      const forkBases = async (): Promise<unknown[]> => ((await engine.listForkBases?.(ctx.agentLabels)) ?? []).map((b) => b.base);
      const servers = tcpServers();
      const goldenNetworks = await networks();

      let k = 1;
      for (; ; k++) {
        if (k > MAX_FORK_CALLS) throw new Error(`a fork of two still fails with a fault at engine call ${k}: it makes too many calls to sweep`);
        const from = faulty.calls.length;
        const routesBefore = new Map(names.map((name) => [name, obs.routes.get(name)]));
        /** Each fork's probed daemons as its route is released: they must be stopped by then. */
        const atRelease = new Map<string, Record<string, string>>();
        obs.beforeRelease = async ({ machine, route }: ObservedRoute) => {
          const argvs = faulty.calls.slice(from).flatMap((c) => (c.method === 'exec' && c.args[0] === machine ? [c.args[1] as readonly string[]] : []));
          const outcomes: Record<string, string> = {};
          for (const daemon of probedDaemons(argvs)) outcomes[daemon.name] = await connectOutcome(route.bindHost, daemon.port);
          atRelease.set(machine, outcomes);
        };
        faulty.failCall(k);
        const outcome = await golden.fork(2).then(
          (forks) => {
            for (const fork of forks) ctx.bottles.add(fork);
            return forks;
          },
          (error: unknown) => error,
        );
        obs.beforeRelease = undefined;
        const at = `fault at fork call ${k} (${faulty.calls[from + k - 1]?.method ?? 'never made'})`;
        if (Array.isArray(outcome)) {
          // The fork made fewer calls than k: the fault never fired, and stays armed until cleared.
          expect(faulty.calls.length - from, at).toBeLessThan(k);
          faulty.disarm();
          expect(outcome.map((f) => f.name)).toEqual(names);
          break;
        }
        expect(outcome, at).toBeInstanceOf(ForkError);
        const failed = outcome as ForkError;
        expect(failed.rollbackError, `${at}: ${String(failed.rollbackError)}`).toBeUndefined();
        expect(failed.cause, at).toBeInstanceOf(EngineCommandError);
        expect((failed.cause as Error).message, at).toMatch(/injected fault/);
        for (const name of names) {
          await obs.settle(name);
          expect(await engine.status(name), `${name} after a ${at}`).toBeUndefined();
          const route = obs.routes.get(name);
          if (route !== routesBefore.get(name)) {
            expect(route?.releases, `${name}'s route releases after a ${at}`).toBe(1);
            const ports = atRelease.get(name) ?? {};
            expect(
              Object.values(ports).every((o) => o === 'refused'),
              `${name}'s daemons as its route is released, ${at}: ${JSON.stringify(ports)}`,
            ).toBe(true);
          }
          const runDir = bottleRunDir(plan, name);
          expect(
            await access(runDir).then(
              () => 'present',
              () => 'absent',
            ),
            `${runDir} after a ${at}`,
          ).toBe('absent');
        }
        expect(await ctx.leftovers(), `machines after a ${at}`).toEqual([golden.name]);
        expect(await forkBases(), `fork bases after a ${at}`).toEqual([]);
        expect(await networks(), `networks after a ${at}`).toEqual(goldenNetworks);
        expect(tcpServers(), `in-process daemons after a ${at}`).toBe(servers);
        expect(golden.forks, at).toEqual([]);
        // smolvm may have frozen the golden as a fork base before the fault: it must thaw.
        expect(await golden.exec(['true']).then((r) => r.exitCode, String), `the golden after a ${at}`).toBe(0);
      }
      // At least the name check and the engine's fork were faulted.
      expect(k).toBeGreaterThan(2);

      await golden.remove({ cascade: true });
      for (const machine of [golden.name, ...names]) expect(await engine.status(machine), machine).toBeUndefined();
      expect(await ctx.leftovers()).toEqual([]);
      expect(await forkBases()).toEqual([]);
    },
    { kind: 'sweep', needs: ['fork'] },
  );
}
