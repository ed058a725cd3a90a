import { readFile } from 'node:fs/promises';
import { stateRoot } from '../host/state.ts';
import { Bottle, BottleFrozenError, type BottleRecord, bottleEnv, type ForkOptions } from '../bottle/bottle.ts';
import type { Engine } from '../engine/types.ts';
import { BottleRegistry } from '../bottle/registry.ts';
import { ClaudeBottleError } from '../errors.ts';
import type { Plan } from '../plan/plan.ts';
import { type BackendHandle, type BackendKind, openBackend } from './backends.ts';
import type { Io } from './io.ts';
import { UsageError } from './io.ts';

export class UnknownBottleError extends ClaudeBottleError {
  override name = 'UnknownBottleError';
}

export interface Attached {
  readonly bottle: Bottle;
  readonly record: BottleRecord;
  readonly backend: BackendHandle;
  readonly registry: BottleRegistry;
}

/**
 * Like `attach`, but refuses a bottle whose launch has not finished (or was killed half-way).
 * With `thaw`, a golden its engine froze as a fork base runs commands again once its forks are
 * gone (a stop and a start), and is refused while they live.
 */
export async function attachReady(io: Io, name: string | undefined, options: { thaw?: boolean } = {}): Promise<Attached> {
  const attached = await attach(io, name);
  const { record, registry, backend } = attached;
  try {
    if (record.status === 'launching') {
      throw new UnknownBottleError(`bottle "${record.name}" has not finished launching (if its launcher was killed, \`claude-bottle prune\` cleans it up)`);
    }
    if (record.frozen && options.thaw !== false) {
      const forks = await registry.forksOf(record.name);
      if (forks.length)
        throw new BottleFrozenError(
          record.name,
          forks.map((r) => r.name),
        );
      await backend.engine.stop(record.name);
      await backend.engine.start(record.name);
      const { frozen: _frozen, ...thawed } = record;
      await registry.save(thawed);
    }
  } catch (error) {
    await backend.close();
    throw error;
  }
  return attached;
}

/** A bottle's record, by name. */
export async function findRecord(io: Io, name: string | undefined): Promise<{ record: BottleRecord; registry: BottleRegistry }> {
  if (!name) throw new UsageError('name a bottle (see `claude-bottle ls`)');
  const registry = new BottleRegistry(stateRoot(io.env));
  const record = await registry.get(name);
  if (!record) throw new UnknownBottleError(`no bottle named "${name}" (see \`claude-bottle ls\`)`);
  return { record, registry };
}

/** Finds a bottle by name in the registry and reopens the backend that launched it. */
export async function attach(io: Io, name: string | undefined): Promise<Attached> {
  const { record, registry } = await findRecord(io, name);
  const plan = record.planPath ? await readPlan(record.planPath) : undefined;
  const backend = await openBackend(record.backend as BackendKind, io);
  const bottle = bottleFromRecord(record, backend.engine, plan);
  return { bottle, record, backend, registry };
}

/** A handle on a recorded bottle; `more` adds what forking it needs (its whole plan, its frozen state, a forker). */
export function bottleFromRecord(
  record: BottleRecord,
  engine: Engine,
  plan: PlanView | undefined,
  more: { plan?: Plan; frozen?: boolean; forker?: (count: number, options: ForkOptions) => Promise<Bottle[]> } = {},
): Bottle {
  return new Bottle({
    name: record.name,
    launchId: record.launchId,
    network: record.network,
    engine,
    promptPath: record.promptPath,
    skillsDir: record.skillsDir,
    env: { ...record.hostEnv, ...(plan ? bottleEnv(plan) : {}) },
    user: plan?.agent.user ?? { name: 'root', uid: 0, gid: 0, home: '/root' },
    ...(record.claudeFlags ? { claudeFlags: record.claudeFlags } : {}),
    ...(record.forkOf ? { forkOf: record.forkOf } : {}),
    ...more,
  });
}

/**
 * What `exec`/`claude` need from the plan `launch` wrote beside the record: the agent's user and
 * env, and its CA. Read without the zod schema (that would load the agent-file parser on every
 * `exec`) and loosely, so a plan written by an older version still serves its bottle.
 */
type PlanView = { readonly agent: Pick<Plan['agent'], 'user' | 'env'>; readonly ca?: { readonly guestPath: string } | undefined };

async function readPlan(path: string): Promise<PlanView | undefined> {
  try {
    const plan = JSON.parse(await readFile(path, 'utf8')) as PlanView | null;
    if (typeof plan?.agent?.user?.uid !== 'number' || typeof plan.agent.env !== 'object') throw new ClaudeBottleError(`${path} is not a bottle plan`);
    return plan;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** `--env KEY=VALUE` or `--env KEY` (value from the host environment). */
export function parseEnvFlags(flags: readonly string[], env: Io['env']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    const key = eq === -1 ? flag : flag.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new UsageError(`--env: invalid variable name ${JSON.stringify(key)}`);
    const value = eq === -1 ? env[key] : flag.slice(eq + 1);
    if (value === undefined) throw new UsageError(`--env ${key}: ${key} is not set in this environment`);
    out[key] = value;
  }
  return out;
}
