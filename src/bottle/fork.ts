/**
 * Provision once, fork many: N bottles from a provisioned golden at the cost of the engine's fork
 * plus what differs per fork. Each fork is a bottle like any other, with its own name, launch
 * labels, git branch under the agent's prefix (`<prefix>f<k>/`, so it can push only its own
 * branches), and its own daemons and credentials (so its reports say which fork sent them).
 * Nothing is uploaded or cloned again: the prompt, skills, CA and clone come with the fork.
 *
 * Steps, with their undos: check-names → (per fork) route, bundle → fork (one engine call for
 * all) → (per fork) probe, provision-git, provision-supervise. An engine without a fork
 * (`capabilities.fork`) launches each copy anew instead, and says so.
 */
import { MAX_FORKS } from '../agent/limits.ts';
import { bottleNameProblem, BOTTLE_NAME_RULE } from '../agent/names.ts';
import { bundleFor } from '../bundle/plan.ts';
import { checkLaunchId, newLaunchId, ownerOf, ownLabels, removeOwnedMachine } from '../engine/ownership.ts';
import { AGENT_LABEL, type Engine, FORK_OF_LABEL, type ForkClone, type ForkResult } from '../engine/types.ts';
import { ClaudeBottleError, ConfigError } from '../errors.ts';
import type { Plan } from '../plan/plan.ts';
import { ProvisionError } from '../provision/error.ts';
import { provisionGitFork } from '../provision/git.ts';
import { provisionPlannedSupervise, superviseFlags } from '../provision/supervise.ts';
import { Bottle, bottleEnv, type ForkOptions } from './bottle.ts';
import { bottleRunDir, HostSide, networkFor } from './host-side.ts';
import type { launch, LaunchOptions } from './launch.ts';
import { runSteps, type Step, StepFailure, type Undo } from './steps.ts';

export { FORK_OF_LABEL, MAX_FORKS };

/** Every fork's part of a step runs side by side: `daemons` is each fork's route and bundle, `provision` its probe and re-provisioning. */
export type ForkStep = 'check-names' | 'daemons' | 'fork' | 'provision' | 'launch';

export class ForkError extends ClaudeBottleError {
  override name = 'ForkError';
  readonly step: ForkStep;
  readonly golden: string;
  readonly forks: readonly string[];
  /** Set when the rollback itself failed: something may remain (`prune --orphans` finds it by its labels). */
  readonly rollbackError: unknown;
  constructor(step: ForkStep, golden: string, forks: readonly string[], cause: unknown, rollbackError?: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(
      `fork of "${golden}" failed at ${step} (forks ${forks.join(', ')}): ${why}${rollbackError ? `\nrollback failed too: ${String(rollbackError)}` : ''}`,
      { cause },
    );
    this.step = step;
    this.golden = golden;
    this.forks = forks;
    this.rollbackError = rollbackError;
  }
}

/** The fork's tag in its branch prefix: `f<k>` for a default name `<golden>-f<k>`, else its name. */
export function forkTag(golden: string, fork: string): string {
  return fork.startsWith(`${golden}-`) ? fork.slice(golden.length + 1) : fork;
}

/** The golden's plan for one fork: its own branch prefix and work branch under the golden's. */
export function forkPlanFor(plan: Plan, tag: string): Plan {
  if (!plan.git) return plan;
  const prefix = `${plan.git.prefix}${tag}/`;
  return { ...plan, git: { ...plan.git, prefix, branch: `${prefix}work` } };
}

/** Default names: `<golden>-f<k>`, k counting up past the forks made through this handle. */
export function defaultForkNames(golden: Bottle, count: number): string[] {
  const taken = new Set(golden.forks.map((f) => f.name));
  const names: string[] = [];
  for (let k = 1; names.length < count; k++) if (!taken.has(`${golden.name}-f${k}`)) names.push(`${golden.name}-f${k}`);
  return names;
}

interface Planned {
  readonly name: string;
  readonly launchId: string;
  readonly plan: Plan;
  readonly runDir: string;
  readonly host: HostSide;
  readonly credentials: ReturnType<typeof bundleFor>['credentials'];
  readonly labels: Readonly<Record<string, string>>;
  mcpConfigPath?: string | undefined;
}

export async function forkBottle(golden: Bottle, count: number, options: ForkOptions, launchAnew: typeof launch): Promise<Bottle[]> {
  const plan = golden.plan;
  if (!plan) throw new ClaudeBottleError(`bottle "${golden.name}" cannot fork: it was reopened without its plan`);
  if (!Number.isInteger(count) || count < 1 || count > MAX_FORKS) {
    throw new ConfigError(`forks: ${count} is not a number of forks (1-${MAX_FORKS})`, [{ path: 'forks', message: `1-${MAX_FORKS}` }]);
  }
  const names = options.names ? [...options.names] : defaultForkNames(golden, count);
  const launchIds = (options.launchIds ?? names.map(() => newLaunchId())).map(checkLaunchId);
  checkNames(golden.name, names, count, launchIds.length);
  const { engine } = golden;
  const forks: Planned[] = names.map((name, k) => {
    const launchId = launchIds[k] as string;
    const forkPlan = forkPlanFor(plan, forkTag(golden.name, name));
    const runDir = options.runDir?.(name) ?? bottleRunDir(plan, name);
    const planned = bundleFor(forkPlan, runDir);
    const labels = { ...ownLabels(launchId), [AGENT_LABEL]: plan.agent.slug, [FORK_OF_LABEL]: golden.name };
    return {
      name,
      launchId,
      plan: forkPlan,
      runDir,
      credentials: planned.credentials,
      labels,
      host: new HostSide({ engine, plan: forkPlan, machine: name, launchId, runDir, labels, planned }),
    };
  });

  if (!engine.capabilities.fork || !engine.fork) {
    options.onNotice?.(`the ${engine.kind} engine cannot fork: launching ${count} copies of ${golden.name} anew (each uploads its files and clones again)`);
    return launchEach(golden, forks, options, launchAnew);
  }

  let result: ForkResult | undefined;
  const steps: Step<ForkStep>[] = [{ name: 'check-names', run: () => namesFree(engine, names) }];
  if (forks.some((f) => f.host.needed)) {
    // Each fork's route and daemons, side by side; a failure undoes every fork's that completed.
    steps.push({ name: 'daemons', run: () => inParallel(forks.map((f) => () => runSteps(f.host.steps()))) });
  }
  steps.push({
    name: 'fork',
    // A clone the engine made before failing: removed only if it carries this fork's launch id (or,
    // on engines whose clones inherit the golden's labels, the golden's: see `Owner.cloneOf`).
    armedUndo: async () => {
      const removals = await Promise.allSettled(
        forks.map((fork) => removeOwnedMachine(engine, fork.name, ownerOf({ launchId: fork.launchId, forkOf: golden }))),
      );
      const errors = removals.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
      try {
        if (result) await engine.removeForkBase?.(result.base);
        // An engine that freezes its fork base (smolvm) may have frozen the golden before failing:
        // the handle thaws it before its next command.
        if ((await engine.status(golden.name))?.state === 'frozen') golden.adoptForks([], true);
      } catch (error) {
        errors.push(error);
      }
      if (errors.length) throw errors[0];
    },
    run: async () => {
      const clones: ForkClone[] = forks.map((f) => ({ name: f.name, labels: f.labels, network: networkFor(f.plan, f.host.route), user: plan.agent.user }));
      result = await (engine.fork as NonNullable<Engine['fork']>).call(engine, golden.name, clones, {
        labels: { ...ownLabels(launchIds[0] as string), [AGENT_LABEL]: plan.agent.slug },
      });
    },
  });
  // What differs per fork: the daemons proven reachable, then its clone and MCP config turned to its own.
  steps.push({
    name: 'provision',
    run: async () => {
      // Every fork's part settles before a failure is thrown: no write still under way while the rollback runs.
      const settled = await Promise.allSettled(forks.map((fork) => provisionFork(engine, fork)));
      const failed = settled.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
  });
  try {
    await runSteps(steps, (step) => options.onStep?.(step, golden.name));
  } catch (error) {
    if (!(error instanceof StepFailure)) throw error;
    throw new ForkError(error.step as ForkStep, golden.name, names, error.cause, error.undoError);
  }
  const made = result as ForkResult;
  const bottles = forks.map((fork) => {
    const hostEnv = fork.host.hostEnv();
    return new Bottle({
      name: fork.name,
      launchId: fork.launchId,
      engine,
      plan: fork.plan,
      promptPath: golden.promptPath,
      skillsDir: golden.skillsDir,
      env: { ...hostEnv, ...bottleEnv(fork.plan) },
      user: plan.agent.user,
      claudeFlags: fork.mcpConfigPath ? superviseFlags(fork.mcpConfigPath) : golden.claudeFlags,
      hostEnv,
      forkOf: { name: golden.name, ...(golden.launchId !== undefined ? { launchId: golden.launchId } : {}) },
      forkBase: made.base,
      ...(fork.host.route?.network !== undefined ? { network: fork.host.route.network } : {}),
      ...(fork.host.bundle ? { daemons: fork.host.bundle, onRemove: () => fork.host.stop() } : {}),
    });
  });
  golden.adoptForks(bottles, !made.goldenUsable);
  return bottles;
}

function checkNames(golden: string, names: readonly string[], count: number, ids: number): void {
  const problems: string[] = [];
  if (names.length !== count) problems.push(`${names.length} names for ${count} forks`);
  if (ids !== count) problems.push(`${ids} launch ids for ${count} forks`);
  for (const name of names) {
    const problem = bottleNameProblem(name);
    if (problem) problems.push(`${JSON.stringify(name)} ${problem} (${BOTTLE_NAME_RULE})`);
    if (name === golden) problems.push(`${JSON.stringify(name)} is the golden's own name`);
  }
  if (new Set(names).size !== names.length) problems.push('a name is given twice');
  if (problems.length)
    throw new ConfigError(
      `forks: ${problems.join('; ')}`,
      problems.map((message) => ({ path: 'forks', message })),
    );
}

/**
 * Runs each part; when one fails, undoes every part that completed and throws a StepFailure
 * carrying the first failure and the first rollback error (a failed part's own, or an undo's).
 */
async function inParallel(parts: readonly (() => Promise<Undo>)[]): Promise<Undo> {
  const settled = await Promise.allSettled(parts.map((part) => part()));
  const undos = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const undoAll = async (): Promise<void> => {
    const errors = (await Promise.allSettled(undos.map((undo) => undo()))).flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
    if (errors.length) throw errors[0];
  };
  const failures = settled.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (failures.length === 0) return undoAll;
  const undoErrors: unknown[] = failures.flatMap((f) => (f instanceof StepFailure && f.undoError !== undefined ? [f.undoError] : []));
  await undoAll().catch((error: unknown) => undoErrors.push(error));
  const first = failures[0];
  throw new StepFailure('parts', first instanceof StepFailure ? first.cause : first, undoErrors[0]);
}

/** One fork's probe and re-provisioning, in order. */
async function provisionFork(engine: Engine, fork: Planned): Promise<void> {
  if (fork.host.needed) await fork.host.probe();
  if (fork.plan.git && fork.plan.daemons.includes('git-gate')) {
    const url = fork.host.toGuest('git-gate');
    const token = fork.credentials['git-gate'];
    if (url === undefined || token === undefined) throw new ProvisionError('git: no gate is serving the fork');
    await provisionGitFork(engine, fork.name, fork.plan, url, token);
  }
  if (fork.plan.supervise && fork.plan.daemons.includes('supervise')) {
    fork.mcpConfigPath = await provisionPlannedSupervise(
      engine,
      fork.name,
      fork.plan,
      fork.host.toGuest('supervise') as string,
      fork.credentials.supervise,
      fork.runDir,
    );
  }
}

/** Every name free before anything is made (a name taken later fails the engine's fork and is rolled back). */
async function namesFree(engine: Engine, names: readonly string[]): Promise<void> {
  const taken = (await Promise.all(names.map(async (name) => ((await engine.status(name)) ? name : undefined)))).filter((n) => n !== undefined);
  if (taken.length)
    throw new ConfigError(
      `forks: machines named ${taken.map((n) => `"${n}"`).join(', ')} already exist; choose other names`,
      taken.map((n) => ({ path: 'forks', message: `${n} exists` })),
    );
}

/** Without a fork: each copy launched anew from the fork's plan (its own branch, daemons, credentials). */
async function launchEach(golden: Bottle, forks: readonly Planned[], options: ForkOptions, launchAnew: typeof launch): Promise<Bottle[]> {
  const made: Bottle[] = [];
  try {
    for (const fork of forks) {
      const launchOptions: LaunchOptions = {
        engine: golden.engine,
        name: fork.name,
        launchId: fork.launchId,
        runDir: fork.runDir,
        labels: { [FORK_OF_LABEL]: golden.name },
        ...(options.onStep ? { onStep: (step: string, machine: string) => options.onStep?.(`launch:${step}`, machine) } : {}),
      };
      made.push(await launchAnew(fork.plan, launchOptions));
    }
  } catch (error) {
    for (const bottle of made.reverse()) await bottle.remove().catch(() => undefined);
    throw new ForkError(
      'launch',
      golden.name,
      forks.map((f) => f.name),
      error,
    );
  }
  golden.adoptForks(made, false);
  return made;
}
