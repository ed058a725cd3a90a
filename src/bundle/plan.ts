import { join } from 'node:path';
import { GATE_REPO_PATH, startGitGate } from '../daemons/gitgate/server.ts';
import { pipelockDaemon } from '../daemons/pipelock/daemon.ts';
import type { Plan } from '../plan/plan.ts';
import { type SuperviseCall, superviseDaemon } from '../daemons/supervise/server.ts';
import type { DaemonSpec } from '../daemon/daemon.ts';

export interface PlannedBundle {
  /** In `plan.daemons` order: the proxy first. */
  readonly specs: DaemonSpec[];
  /** What the supervise server recorded, when it is planned. */
  readonly superviseCalls?: readonly SuperviseCall[];
}

/** The daemons a plan calls for, ready for `startBundle`; their host files go under `runDir` (the bottle's own). */
export function bundleFor(plan: Plan, runDir: string): PlannedBundle {
  const specs: DaemonSpec[] = [];
  let superviseCalls: readonly SuperviseCall[] | undefined;
  for (const daemon of plan.daemons) {
    if (daemon === 'pipelock' && plan.proxy) {
      specs.push(
        pipelockDaemon(
          {
            allowHosts: plan.proxy.allowHosts,
            allowCidrs: plan.proxy.allowCidrs,
            ...(plan.proxy.tls ? { tlsInterception: true, caCert: plan.proxy.tls.certPath, caKey: plan.proxy.tls.keyPath } : {}),
          },
          { bin: plan.proxy.bin, configDir: join(runDir, 'pipelock') },
        ),
      );
    } else if (daemon === 'git-gate' && plan.git) {
      const { repo, prefix } = plan.git;
      specs.push({
        name: 'git-gate',
        healthPath: `${GATE_REPO_PATH}/info/refs?service=git-upload-pack`,
        async start(host, port) {
          const gate = await startGitGate({ repo, prefix, host, port });
          return { url: gate.url, stop: () => gate.close() };
        },
      });
    } else if (daemon === 'supervise' && plan.supervise) {
      const spec = superviseDaemon({ name: plan.supervise.name });
      superviseCalls = spec.calls;
      specs.push(spec);
    }
  }
  return { specs, ...(superviseCalls ? { superviseCalls } : {}) };
}

/** A daemon's host URL as the guest must dial it (`bindHost` → `guestHost`). */
export function guestUrl(url: string, guestHost: string): string {
  const u = new URL(url);
  u.hostname = guestHost.includes(':') ? `[${guestHost}]` : guestHost;
  return u.toString().replace(/\/$/, url.endsWith('/') ? '/' : '');
}
