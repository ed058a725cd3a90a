/**
 * What a plan asks of an engine, checked before anything is written or created: `prepare` runs
 * it when given the engine, and `launch` again before its first engine call. It reads only the
 * engine's declared capabilities and its own `checkConfig`, never its name.
 */
import type { ConfigIssue, Engine } from '../engine/types.ts';
import { ConfigError } from '../errors.ts';
import type { Plan } from './plan.ts';

/** The plan fields `checkPlanForEngine` reads: a whole plan, or the parts of one `prepare` has before it writes. */
export type EngineCheckInput = Pick<Plan, 'agent' | 'daemons'> & { readonly egress?: Plan['egress']; readonly proxy?: unknown };

export function planIssuesForEngine(plan: EngineCheckInput, engine: Engine): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const { capabilities } = engine;
  if (plan.egress && !plan.proxy && !capabilities.egressAllowList) {
    issues.push({
      path: 'egress.proxy',
      message: `the ${engine.kind} engine cannot enforce an egress allow-list by itself; keep egress.proxy (pipelock) on, or use an engine that can (smolvm)`,
    });
  }
  if (plan.daemons.length > 0 && !(capabilities.hostRoute && engine.hostRoute)) {
    issues.push({
      path: 'daemons',
      message: `the ${engine.kind} engine cannot reach host daemons (${plan.daemons.join(', ')}): it offers no host route`,
    });
  }
  issues.push(...(engine.checkConfig?.({ image: plan.agent.image, env: plan.agent.env, user: plan.agent.user }) ?? []));
  return issues;
}

/** Throws a ConfigError naming every field the engine cannot take. */
export function checkPlanForEngine(plan: EngineCheckInput, engine: Engine): void {
  const issues = planIssuesForEngine(plan, engine);
  if (issues.length) throw new ConfigError(issues.map((i) => `${i.path}: ${i.message}`).join('\n'), issues);
}
