/**
 * A bottle's host side, shared by `launch` and `fork`: the engine's host route, the plans' daemons
 * (the bundle) bound on it, and the bottle's own run dir, as steps with their undos; then what
 * the guest needs to reach them (URLs as it dials them, the proxy's env).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type Bundle, startBundle } from '../bundle/bundle.ts';
import { guestUrl, type PlannedBundle } from '../bundle/plan.ts';
import { type Daemon, guestProbe } from '../daemon/daemon.ts';
import { removeOwnedRoute } from '../engine/ownership.ts';
import type { Engine, HostRoute, NetworkPolicy } from '../engine/types.ts';
import type { Plan } from '../plan/plan.ts';
import { ProvisionError } from '../provision/error.ts';
import { proxyEnv } from '../provision/proxy-env.ts';
import { guardRoute, type RouteGuard } from './route-guard.ts';
import type { Step } from './steps.ts';

/** `<agent state dir>/bottles/<name>`: where an SDK launch keeps the bottle's own host files. */
export function bottleRunDir(plan: Plan, name: string): string {
  return join(plan.stateDir, 'bottles', name);
}

export function machineNameFor(slug: string): string {
  return `${slug}-${randomBytes(4).toString('hex')}`;
}

/** The network a bottle gets: none unless its plans call for egress or host daemons. */
export function networkFor(plan: Plan, route: HostRoute | undefined, given?: NetworkPolicy): NetworkPolicy {
  const egress = plan.egress ?? { allowHosts: [], allowCidrs: [] };
  const base = given ?? { enabled: false, allowHosts: egress.allowHosts, allowCidrs: egress.allowCidrs };
  // A caller's network still joins the route, or the guest could not reach its daemons.
  return route ? { ...base, hostOnly: true, ...(route.network !== undefined ? { attach: route.network } : {}) } : base;
}

/** One exec per daemon, from inside the guest: the daemons are proven reachable before anything uses them. */
export async function probeDaemons(engine: Engine, machine: string, daemons: readonly Daemon[], guestHost: string): Promise<void> {
  for (const daemon of daemons) {
    const result = await engine.exec(machine, guestProbe(daemon, guestHost), { timeoutMs: 30_000 });
    if (result.exitCode !== 0) {
      throw new ProvisionError(`the guest cannot reach the ${daemon.name} daemon at ${guestHost}:${daemon.port}`, result);
    }
  }
}

export interface HostSideOptions {
  readonly engine: Engine;
  readonly plan: Plan;
  readonly machine: string;
  readonly launchId: string;
  readonly runDir: string;
  /** Labels for what the route creates (the launch's own among them). */
  readonly labels: Readonly<Record<string, string>>;
  readonly planned: PlannedBundle;
}

export class HostSide {
  readonly #o: HostSideOptions;
  route: HostRoute | undefined;
  bundle: Bundle | undefined;
  #guard: RouteGuard | undefined;
  #madeRunDir = false;

  constructor(options: HostSideOptions) {
    this.#o = options;
  }

  get needed(): boolean {
    return this.#o.planned.specs.length > 0;
  }

  /** `route` then `bundle`, each with its undo; none when the plans call for no daemon. */
  steps(): Step<'route' | 'bundle'>[] {
    if (!this.needed) return [];
    const { engine, plan, machine, launchId, labels } = this.#o;
    const owner = { launchId };
    const hostRoute = engine.hostRoute?.bind(engine) as NonNullable<Engine['hostRoute']>;
    return [
      {
        name: 'route',
        run: async () => {
          const made = await hostRoute(machine, { egress: plan.egress !== undefined, labels });
          this.route = made;
          const network = made.network;
          return network !== undefined ? async () => void (await removeOwnedRoute(engine, [network], owner)) : undefined;
        },
      },
      {
        name: 'bundle',
        run: async () => {
          const route = this.route as HostRoute;
          this.#madeRunDir = await makeRunDir(this.#o.runDir);
          try {
            const started = await startBundle(this.#o.planned.specs, { host: route.bindHost });
            try {
              // The route lets the guest reach exactly these ports, before the machine exists.
              const closer = await route.allow?.(started.daemons.map((d) => d.port));
              // The daemons die with this process, even SIGKILLed: the guard closes their ports then.
              if (closer) this.#guard = guardRoute(closer);
            } catch (error) {
              await started.stop().catch(() => undefined);
              await this.#stopGuard();
              throw error;
            }
            this.bundle = started;
            return () => this.stop();
          } catch (error) {
            await this.#dropRunDir();
            throw error;
          }
        },
      },
    ];
  }

  /** The probe, from inside the guest, of every daemon started. */
  probe(): Promise<void> {
    return probeDaemons(this.#o.engine, this.#o.machine, (this.bundle as Bundle).daemons, (this.route as HostRoute).guestHost);
  }

  /** A daemon's URL as the guest dials it. */
  toGuest(daemon: string): string | undefined {
    const url = this.bundle?.get(daemon)?.url;
    return url && this.route ? guestUrl(url, this.route.guestHost) : undefined;
  }

  /** The proxy's env (with the proxy planned), as the guest must use it. */
  hostEnv(): Record<string, string> {
    const proxyUrl = this.toGuest('pipelock');
    return proxyUrl && this.route ? proxyEnv({ proxyUrl: proxyUrl.replace(/\/$/, ''), noProxy: [this.route.guestHost] }) : {};
  }

  /** Stops the daemons, closes their ports (the guard's closer), removes the run dir this side made. Idempotent. */
  async stop(): Promise<void> {
    try {
      await this.bundle?.stop();
    } finally {
      try {
        await this.#stopGuard();
      } finally {
        await this.#dropRunDir();
      }
    }
  }

  async #stopGuard(): Promise<void> {
    const guard = this.#guard;
    this.#guard = undefined;
    await guard?.stop();
  }

  async #dropRunDir(): Promise<void> {
    if (this.#madeRunDir) await rm(this.#o.runDir, { recursive: true, force: true });
  }
}

/** Creates the run dir 0700; true when this call made it (so only then is it ours to remove). */
async function makeRunDir(dir: string): Promise<boolean> {
  // mkdir answers which directory it created, if any: no stat first, so no race with another process.
  return (await mkdir(dir, { recursive: true, mode: 0o700 })) !== undefined;
}
