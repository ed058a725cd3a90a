import type { AgentSpec } from './agent/spec.ts';
import { type LaunchOptions, launch } from './bottle/launch.ts';
import type { Bottle } from './bottle/bottle.ts';
import type { Engine } from './engine/types.ts';
import type { Plan } from './plan/plan.ts';
import { type PrepareOptions, prepare } from './plan/prepare.ts';
import { provisionCa } from './provision/ca.ts';
import { provisionGit } from './provision/git.ts';
import { provisionPrompt } from './provision/prompt.ts';
import { type SkillsOptions, provisionSkills } from './provision/skills.ts';
import { provisionPlannedSupervise } from './provision/supervise.ts';

/** One backend = one engine adapter; everything else is shared. */
export interface BottleBackend {
  readonly name: string;
  readonly engine: Engine;
  prepare(agent: AgentSpec, options?: PrepareOptions): Promise<Plan>;
  launch(plan: Plan, options?: Omit<LaunchOptions, 'engine'>): Promise<Bottle>;
  provisionPrompt(plan: Plan, machine: string): Promise<string | undefined>;
  provisionSkills(plan: Plan, machine: string, options?: SkillsOptions): Promise<string | undefined>;
  /** Installs `plan.ca` in the guest's trust store (a no-op without one). */
  provisionCa(plan: Plan, machine: string): Promise<void>;
  /** Clones `plan.git` into the guest workspace through the gate at `gateUrl` (a no-op without a git section). */
  provisionGit(plan: Plan, machine: string, gateUrl: string): Promise<void>;
  /** Writes claude's MCP config for the supervise server at `serverUrl` into the guest (a no-op without a supervise plan). */
  provisionSupervise(plan: Plan, machine: string, serverUrl: string): Promise<void>;
}

export function createBackend(engine: Engine): BottleBackend {
  return {
    name: engine.kind,
    engine,
    prepare: (agent, options) => prepare(agent, options),
    launch: (plan, options = {}) => launch(plan, { ...options, engine }),
    provisionPrompt: (plan, machine) => provisionPrompt(engine, machine, plan),
    provisionSkills: (plan, machine, options) => provisionSkills(engine, machine, plan, options),
    provisionCa: async (plan, machine) => {
      await provisionCa(engine, machine, plan);
    },
    provisionGit: async (plan, machine, gateUrl) => {
      await provisionGit(engine, machine, plan, gateUrl);
    },
    provisionSupervise: async (plan, machine, serverUrl) => {
      await provisionPlannedSupervise(engine, machine, plan, serverUrl);
    },
  };
}
