import { randomBytes } from 'node:crypto';
import { ClaudeBottleError, EngineCommandError } from '../errors.ts';
import { BOTTLE_LABEL, type Engine, type NetworkPolicy } from '../engine/types.ts';
import type { Plan } from '../plan/plan.ts';
import { provisionCa } from '../provision/ca.ts';
import { provisionFilesAsTree } from '../provision/files.ts';
import { provisionGit } from '../provision/git.ts';
import { provisionPrompt } from '../provision/prompt.ts';
import { type SkillsTransfer, provisionSkills } from '../provision/skills.ts';
import { Bottle, bottleEnv } from './bottle.ts';

export type LaunchStep = 'create' | 'start' | 'provision-files' | 'provision-ca' | 'provision-prompt' | 'provision-skills' | 'provision-git';

/** A git gate serving `plan.git` (see `startGitGate`): its URL must be reachable from the guest. */
export interface GitGateEndpoint {
  readonly url: string;
}

/** Says which step failed; `cause` keeps the original (e.g. a SmolvmError with argv and stderr). */
export class LaunchError extends ClaudeBottleError {
  override name = 'LaunchError';
  readonly step: LaunchStep;
  readonly machine: string;
  /** Set when the rollback itself failed: the machine may still exist. */
  readonly rollbackError: unknown;
  constructor(step: LaunchStep, machine: string, cause: unknown, rollbackError?: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    const leak = rollbackError
      ? `\nrollback failed too, machine "${machine}" may remain: ${rollbackError instanceof Error ? rollbackError.message : String(rollbackError)}`
      : '';
    super(`launch failed at ${step} (machine "${machine}"): ${why}${leak}`, { cause });
    this.step = step;
    this.machine = machine;
    this.rollbackError = rollbackError;
  }
}

export interface LaunchOptions {
  readonly engine: Engine;
  /** Defaults to `<slug>-<8 hex>`, so concurrent launches never collide. */
  readonly name?: string;
  readonly skillsTransfer?: SkillsTransfer;
  readonly labels?: Readonly<Record<string, string>>;
  /** The machine's network; default none at all. */
  readonly network?: NetworkPolicy;
  readonly onStep?: (step: LaunchStep, machine: string) => void;
  /**
   * The git gate for `plan.git`: a started gate, or a function starting one for this machine
   * (it runs at the provision-git step). Without it, a plan's git section is not provisioned.
   * The gate's lifetime is the caller's: launch never closes it.
   */
  readonly gitGate?: GitGateEndpoint | ((plan: Plan, machine: string) => Promise<GitGateEndpoint>);
}

export { BOTTLE_LABEL };

export function machineNameFor(slug: string): string {
  return `${slug}-${randomBytes(4).toString('hex')}`;
}

/**
 * create → start → provision (CA when the plan has one, prompt, skills, then the git clone when the
 * plan has a git section and `options.gitGate` is given); any failure removes the machine before
 * the error surfaces.
 */
export async function launch(plan: Plan, options: LaunchOptions): Promise<Bottle> {
  const { engine } = options;
  const name = options.name ?? machineNameFor(plan.agent.slug);
  let step: LaunchStep = 'create';
  let created = false;
  const run = async <T>(next: LaunchStep, fn: () => Promise<T>): Promise<T> => {
    step = next;
    options.onStep?.(next, name);
    return fn();
  };
  try {
    await run('create', () =>
      engine.create({
        name,
        image: plan.agent.image,
        labels: { [BOTTLE_LABEL]: '1', [`${BOTTLE_LABEL}.agent`]: plan.agent.slug, ...options.labels },
        network: options.network ?? { enabled: false, allowHosts: [], allowCidrs: [] },
        user: plan.agent.user,
      }),
    );
    created = true;
    await run('start', () => engine.start(name));
    if (plan.ca) await run('provision-ca', () => provisionCa(engine, name, plan));
    let promptPath: string | undefined;
    let skillsDir: string | undefined;
    if (engine.uploadTree && (options.skillsTransfer ?? 'auto') === 'auto') {
      const tree = engine as Engine & Required<Pick<Engine, 'uploadTree'>>;
      ({ promptPath, skillsDir } = await run('provision-files', () => provisionFilesAsTree(tree, name, plan)));
    } else {
      promptPath = await run('provision-prompt', () => provisionPrompt(engine, name, plan));
      skillsDir = await run('provision-skills', () =>
        provisionSkills(engine, name, plan, options.skillsTransfer ? { transfer: options.skillsTransfer } : {}),
      );
    }
    const { gitGate } = options;
    if (plan.git && gitGate) {
      await run('provision-git', async () => {
        const gate = typeof gitGate === 'function' ? await gitGate(plan, name) : gitGate;
        return provisionGit(engine, name, plan, gate.url);
      });
    }
    return new Bottle({ name, engine, promptPath, skillsDir, env: bottleEnv(plan), user: plan.agent.user });
  } catch (error) {
    // A name that already existed belongs to someone else: never delete it.
    const foreign = !created && error instanceof EngineCommandError && error.kind === 'already-exists';
    let rollbackError: unknown;
    if (!foreign) {
      try {
        await engine.remove(name);
      } catch (e) {
        rollbackError = e;
      }
    }
    throw new LaunchError(step, name, error, rollbackError);
  }
}
