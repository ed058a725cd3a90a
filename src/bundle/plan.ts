import { join } from 'node:path';
import { GATE_REPO_PATH, startGitGate } from '../daemons/gitgate/server.ts';
import { pipelockDaemon } from '../daemons/pipelock/daemon.ts';
import type { Plan } from '../plan/plan.ts';
import { type SuperviseCall, superviseDaemon } from '../daemons/supervise/server.ts';
import { type DaemonSpec, hostForUrl } from '../daemon/daemon.ts';
import { newCredential } from '../daemon/auth.ts';

/**
 * The bottle's credentials, one per authenticating daemon, made when its bundle is planned. They
 * reach the guest only as 0600 files (git's config include, the MCP config), never argv or logs.
 * The egress proxy has none: on Docker the per-bottle firewall lets only this bottle reach it.
 */
export interface BundleCredentials {
  readonly 'git-gate'?: string;
  readonly supervise?: string;
}

export interface PlannedBundle {
  /** In `plan.daemons` order: the proxy first. */
  readonly specs: DaemonSpec[];
  /** What the supervise server recorded (the latest calls), when it is planned. */
  readonly superviseCalls?: readonly SuperviseCall[];
  readonly credentials: BundleCredentials;
}

/** The daemons a plan calls for, ready for `startBundle`; their host files go under `runDir` (the bottle's own). */
export function bundleFor(plan: Plan, runDir: string): PlannedBundle {
  const specs: DaemonSpec[] = [];
  let superviseCalls: readonly SuperviseCall[] | undefined;
  const credentials: { 'git-gate'?: string; supervise?: string } = {};
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
      const token = newCredential();
      const servedRefs = plan.git.serveRefs;
      credentials['git-gate'] = token;
      specs.push({
        name: 'git-gate',
        healthPath: `${GATE_REPO_PATH}/info/refs?service=git-upload-pack`,
        async start(host, port) {
          const gate = await startGitGate({ repo, prefix, host, port, token, ...(servedRefs ? { servedRefs } : {}) });
          return { url: gate.url, stop: () => gate.close() };
        },
      });
    } else if (daemon === 'supervise' && plan.supervise) {
      const spec = superviseDaemon({ name: plan.supervise.name, runDir });
      credentials.supervise = spec.token;
      superviseCalls = spec.calls;
      specs.push(spec);
    }
  }
  return { specs, credentials, ...(superviseCalls ? { superviseCalls } : {}) };
}

/** A daemon's host URL as the guest must dial it (`bindHost` → `guestHost`). */
export function guestUrl(url: string, guestHost: string): string {
  const u = new URL(url);
  u.hostname = hostForUrl(guestHost);
  return u.toString().replace(/\/$/, url.endsWith('/') ? '/' : '');
}
