import { bundleFor } from '../bundle/plan.ts';
import { checkLaunchId, newLaunchId, ownLabels, removeOwnedMachine } from '../engine/ownership.ts';
import { AGENT_LABEL, type Engine, type NetworkPolicy } from '../engine/types.ts';
import { ClaudeBottleError, ConfigError } from '../errors.ts';
import { bottleNameProblem, BOTTLE_NAME_RULE } from '../agent/names.ts';
import { checkPlanForEngine } from '../plan/engine-check.ts';
import type { Plan } from '../plan/plan.ts';
import { provisionCa } from '../provision/ca.ts';
import { ProvisionError } from '../provision/error.ts';
import { type FileTransfer, provisionFiles } from '../provision/files.ts';
import { provisionGit } from '../provision/git.ts';
import { provisionPlannedSupervise, superviseFlags } from '../provision/supervise.ts';
import { Bottle, bottleEnv } from './bottle.ts';
import { forkBottle } from './fork.ts';
import { bottleRunDir, HostSide, machineNameFor, networkFor } from './host-side.ts';
import { runSteps, type Step, StepFailure } from './steps.ts';

/** The steps of a launch, in order; `check-name` runs only for a caller-given name. */
export type LaunchStep =
  | 'check-name'
  | 'route'
  | 'bundle'
  | 'create'
  | 'start'
  | 'probe'
  | 'provision-ca'
  | 'provision-files'
  | 'provision-git'
  | 'provision-supervise';

/** A git gate serving `plan.git` (see `startGitGate`): its URL must be reachable from the guest; `token` is its credential. */
export interface GitGateEndpoint {
  readonly url: string;
  readonly token?: string;
}

/**
 * Says which step failed (always one that ran: a configuration refused before any step is a
 * ConfigError instead); `cause` keeps the original (e.g. a SmolvmError with argv and stderr).
 */
export class LaunchError extends ClaudeBottleError {
  override name = 'LaunchError';
  readonly step: LaunchStep;
  readonly machine: string;
  readonly launchId: string;
  /** Set when the rollback itself failed: something of this launch may remain (`prune --orphans` finds it by its labels). */
  readonly rollbackError: unknown;
  constructor(step: LaunchStep, machine: string, launchId: string, cause: unknown, rollbackError?: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    const leak = rollbackError
      ? `\nrollback failed too, machine "${machine}" may remain (claude-bottle prune --orphans removes it): ${rollbackError instanceof Error ? rollbackError.message : String(rollbackError)}`
      : '';
    super(`launch failed at ${step} (machine "${machine}"): ${why}${leak}`, { cause });
    this.step = step;
    this.machine = machine;
    this.launchId = launchId;
    this.rollbackError = rollbackError;
  }
}

/** A machine of that name exists already (ours or not): it is left untouched. */
export class NameTakenError extends ConfigError {
  override name = 'NameTakenError';
  constructor(name: string, owner: 'ours' | 'foreign') {
    const message = `a machine named "${name}" already exists${owner === 'ours' ? ' (another bottle)' : ' and is not a bottle'}; choose another name`;
    super(`name: ${message}`, [{ path: 'name', message }]);
  }
}

export interface LaunchOptions {
  readonly engine: Engine;
  /** Checked (`BOTTLE_NAME_RULE`) and refused when a machine of that name exists. Default `<slug>-<8 hex>`. */
  readonly name?: string;
  /** The id labelling everything this launch creates; default a fresh one. Give it to record the launch before it starts. */
  readonly launchId?: string;
  readonly fileTransfer?: FileTransfer;
  /**
   * Host files of this bottle only (the proxy's config, daemon logs), created 0700 when its
   * daemons start and removed with it. Default `bottleRunDir(plan, name)`.
   */
  readonly runDir?: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** The machine's network; default none at all. */
  readonly network?: NetworkPolicy;
  readonly onStep?: (step: LaunchStep, machine: string) => void;
  /**
   * The git gate for `plan.git`: a started gate, or a function starting one for this machine
   * (it runs at the provision-git step). Without it, the bundle's own gate serves the plan.
   * The gate's lifetime is the caller's: launch never closes it.
   */
  readonly gitGate?: GitGateEndpoint | ((plan: Plan, machine: string) => Promise<GitGateEndpoint>);
}

export { bottleRunDir, machineNameFor };

/**
 * check-name → route → bundle (the plans' host daemons) → create → start → probe each daemon
 * from the guest → provision (CA, prompt and skills, git clone through the gate, supervise's MCP
 * config). A failure undoes the steps done, in reverse: the machine and the route's network are
 * removed only after reading back this launch's id on them, so nothing else is ever touched.
 */
export async function launch(plan: Plan, options: LaunchOptions): Promise<Bottle> {
  const { engine, gitGate } = options;
  const name = options.name ?? machineNameFor(plan.agent.slug);
  const launchId = checkLaunchId(options.launchId ?? newLaunchId());
  const owner = { launchId };

  // Configuration problems are refused before any step, as the ConfigError itself: a LaunchError
  // names a step that ran.
  const nameProblem = bottleNameProblem(name);
  if (nameProblem) throw new ConfigError(`name: ${JSON.stringify(name)} ${nameProblem} (${BOTTLE_NAME_RULE})`, [{ path: 'name', message: nameProblem }]);
  checkPlanForEngine(plan, engine);

  // A caller-supplied gate replaces the bundle's own.
  const runDir = options.runDir ?? bottleRunDir(plan, name);
  const planned = bundleFor(gitGate ? { ...plan, daemons: plan.daemons.filter((d) => d !== 'git-gate') } : plan, runDir);
  const labels = { ...options.labels, ...ownLabels(launchId), [AGENT_LABEL]: plan.agent.slug };
  const host = new HostSide({ engine, plan, machine: name, launchId, runDir, labels, planned });
  let files = { promptPath: undefined as string | undefined, skillsDir: undefined as string | undefined };
  let mcpConfigPath: string | undefined;

  const steps: Step<LaunchStep>[] = [];
  if (options.name !== undefined) steps.push({ name: 'check-name', run: () => checkNameFree(engine, name) });
  steps.push(...host.steps());
  steps.push({
    name: 'create',
    // The engine may have made the machine before failing: the undo reads back the labels first.
    armedUndo: () => removeOwnedMachine(engine, name, owner),
    run: () => engine.create({ name, image: plan.agent.image, labels, network: networkFor(plan, host.route, options.network), user: plan.agent.user }),
  });
  steps.push({ name: 'start', run: () => engine.start(name) });
  if (host.needed) steps.push({ name: 'probe', run: () => host.probe() });
  if (plan.ca) steps.push({ name: 'provision-ca', run: async () => void (await provisionCa(engine, name, plan)) });
  steps.push({
    name: 'provision-files',
    run: async () => {
      files = await provisionFiles(engine, name, plan, options.fileTransfer);
    },
  });
  if (plan.git && (gitGate || plan.daemons.includes('git-gate'))) {
    steps.push({
      name: 'provision-git',
      run: async () => {
        const given = gitGate ? (typeof gitGate === 'function' ? await gitGate(plan, name) : gitGate) : undefined;
        const url = given ? given.url : host.toGuest('git-gate');
        if (url === undefined) throw new ProvisionError('git: no gate is serving the repository');
        await provisionGit(engine, name, plan, url, given ? given.token : planned.credentials['git-gate']);
      },
    });
  }
  if (plan.supervise && plan.daemons.includes('supervise')) {
    steps.push({
      name: 'provision-supervise',
      run: async () => {
        mcpConfigPath = await provisionPlannedSupervise(engine, name, plan, host.toGuest('supervise') as string, planned.credentials.supervise, runDir);
      },
    });
  }

  try {
    await runSteps(steps, (step) => options.onStep?.(step, name));
  } catch (error) {
    if (!(error instanceof StepFailure)) throw error;
    throw new LaunchError(error.step as LaunchStep, name, launchId, error.cause, error.undoError);
  }

  const hostEnv = host.hostEnv();
  const bottle: Bottle = new Bottle({
    name,
    launchId,
    engine,
    plan,
    promptPath: files.promptPath,
    skillsDir: files.skillsDir,
    env: { ...hostEnv, ...bottleEnv(plan) },
    user: plan.agent.user,
    claudeFlags: superviseFlags(mcpConfigPath),
    hostEnv,
    ...(host.route?.network !== undefined ? { network: host.route.network } : {}),
    ...(host.bundle ? { daemons: host.bundle, onRemove: () => host.stop() } : {}),
    forker: (count, forkOptions) => forkBottle(bottle, count, forkOptions, launch),
  });
  return bottle;
}

/** A name already in use is refused, whoever owns it; nothing is created. */
async function checkNameFree(engine: Engine, name: string): Promise<void> {
  const existing = await engine.status(name);
  if (existing) throw new NameTakenError(name, existing.labels['claude-bottle'] === '1' ? 'ours' : 'foreign');
}
