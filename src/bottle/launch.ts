import { randomBytes } from 'node:crypto';
import { type Bundle, startBundle } from '../bundle/bundle.ts';
import { type Daemon, guestProbe } from '../daemon/daemon.ts';
import { bundleFor, guestUrl } from '../bundle/plan.ts';
import { ClaudeBottleError, ConfigError, EngineCommandError } from '../errors.ts';
import { BOTTLE_LABEL, type Engine, type HostRoute, type NetworkPolicy } from '../engine/types.ts';
import { proxyEnv } from '../provision/proxy-env.ts';
import { provisionPlannedSupervise, superviseFlags } from '../provision/supervise.ts';
import type { Plan } from '../plan/plan.ts';
import { provisionCa } from '../provision/ca.ts';
import { provisionFilesAsTree } from '../provision/files.ts';
import { provisionGit } from '../provision/git.ts';
import { provisionPrompt } from '../provision/prompt.ts';
import { ProvisionError, type SkillsTransfer, provisionSkills } from '../provision/skills.ts';
import { Bottle, bottleEnv } from './bottle.ts';

export type LaunchStep =
  | 'route'
  | 'bundle'
  | 'create'
  | 'start'
  | 'probe'
  | 'provision-files'
  | 'provision-ca'
  | 'provision-prompt'
  | 'provision-skills'
  | 'provision-git'
  | 'provision-supervise';

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

/** The network a bottle gets: none unless its plans call for egress or host daemons. */
function networkFor(plan: Plan, route: HostRoute | undefined): NetworkPolicy {
  const egress = plan.egress ?? { allowHosts: [], allowCidrs: [] };
  return {
    enabled: false,
    allowHosts: egress.allowHosts,
    allowCidrs: egress.allowCidrs,
    ...(route ? { hostOnly: true, ...(route.attach !== undefined ? { attach: route.attach } : {}) } : {}),
  };
}

/**
 * route + bundle (the plans' host daemons) → create → start → probe each daemon from the guest →
 * provision (CA, prompt, skills, git clone through the gate, supervise's MCP config). Any failure
 * removes the machine, stops the daemons and frees the route before the error surfaces; a
 * successful bottle takes them down on `remove()`.
 */
export async function launch(plan: Plan, options: LaunchOptions): Promise<Bottle> {
  const { engine } = options;
  const name = options.name ?? machineNameFor(plan.agent.slug);
  let step: LaunchStep = 'create';
  let created = false;
  let route: HostRoute | undefined;
  let bundle: Bundle | undefined;
  const run = async <T>(next: LaunchStep, fn: () => Promise<T>): Promise<T> => {
    step = next;
    options.onStep?.(next, name);
    return fn();
  };
  const { gitGate } = options;
  // A caller-supplied gate replaces the bundle's own.
  const planned = bundleFor(gitGate ? { ...plan, daemons: plan.daemons.filter((d) => d !== 'git-gate') } : plan, name);
  try {
    if (engine.kind === 'docker' && plan.egress && !plan.proxy) {
      const message = 'Docker cannot enforce an egress allow-list by itself; keep egress.proxy (pipelock) on, or use smolvm';
      throw new ConfigError(`egress.proxy: ${message}`, [{ path: 'egress.proxy', message }]);
    }
    if (planned.specs.length) {
      const hostRoute = engine.hostRoute?.bind(engine);
      if (!hostRoute) {
        const message = `the ${engine.kind} engine cannot reach host daemons (${plan.daemons.join(', ')}): it has no hostRoute`;
        throw new ConfigError(message, [{ path: 'daemons', message }]);
      }
      route = await run('route', () => hostRoute(name, { egress: plan.egress !== undefined }));
      const bindHost = route.bindHost;
      bundle = await run('bundle', () => startBundle(planned.specs, { host: bindHost }));
    }
    // A caller's network still joins the route, or the guest could not reach its daemons.
    const network = options.network
      ? { ...options.network, ...(route ? { hostOnly: true, ...(route.attach !== undefined ? { attach: route.attach } : {}) } : {}) }
      : networkFor(plan, route);
    await run('create', () =>
      engine.create({
        name,
        image: plan.agent.image,
        labels: { [BOTTLE_LABEL]: '1', [`${BOTTLE_LABEL}.agent`]: plan.agent.slug, ...options.labels },
        network,
        user: plan.agent.user,
      }),
    );
    created = true;
    await run('start', () => engine.start(name));
    if (bundle && route) {
      const { guestHost } = route;
      const daemons = bundle.daemons;
      await run('probe', () => probeDaemons(engine, name, daemons, guestHost));
    }
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
    const toGuest = (daemon: string): string | undefined => {
      const url = bundle?.get(daemon)?.url;
      return url && route ? guestUrl(url, route.guestHost) : undefined;
    };
    const gateUrl = toGuest('git-gate');
    if (plan.git && (gitGate || gateUrl)) {
      await run('provision-git', async () => {
        const url = gitGate ? (typeof gitGate === 'function' ? await gitGate(plan, name) : gitGate).url : (gateUrl as string);
        return provisionGit(engine, name, plan, url);
      });
    }
    let mcpConfigPath: string | undefined;
    const superviseUrl = toGuest('supervise');
    if (plan.supervise && superviseUrl) {
      mcpConfigPath = await run('provision-supervise', () => provisionPlannedSupervise(engine, name, plan, superviseUrl));
    }
    const proxyUrl = toGuest('pipelock');
    const hostEnv = proxyUrl && route ? proxyEnv({ proxyUrl: proxyUrl.replace(/\/$/, ''), noProxy: [route.guestHost] }) : {};
    const env = { ...hostEnv, ...bottleEnv(plan) };
    const held = { bundle, route };
    return new Bottle({
      name,
      engine,
      promptPath,
      skillsDir,
      env,
      user: plan.agent.user,
      claudeFlags: superviseFlags(mcpConfigPath),
      hostEnv,
      ...(bundle ? { daemons: bundle } : {}),
      onRemove: async () => {
        await held.bundle?.stop();
        await held.route?.release();
      },
    });
  } catch (error) {
    // A name that already existed belongs to someone else: never delete it.
    const foreign = !created && error instanceof EngineCommandError && error.kind === 'already-exists';
    let rollbackError: unknown;
    for (const undo of [
      () => (foreign ? Promise.resolve() : engine.remove(name)),
      () => bundle?.stop() ?? Promise.resolve(),
      () => route?.release() ?? Promise.resolve(),
    ]) {
      try {
        await undo();
      } catch (e) {
        rollbackError ??= e;
      }
    }
    throw new LaunchError(step, name, error, rollbackError);
  }
}

/** One exec per daemon, from inside the guest: the daemons are proven reachable before anything uses them. */
async function probeDaemons(engine: Engine, machine: string, daemons: readonly Daemon[], guestHost: string): Promise<void> {
  for (const daemon of daemons) {
    const result = await engine.exec(machine, guestProbe(daemon, guestHost), { timeoutMs: 30_000 });
    if (result.exitCode !== 0) {
      throw new ProvisionError(`the guest cannot reach the ${daemon.name} daemon at ${guestHost}:${daemon.port}`, result);
    }
  }
}
