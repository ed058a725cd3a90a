/**
 * Which network a machine gets, and which requests smolvm refuses: `src/network/launch.rs`
 * (`plan_launch_network`, `validate_requested_network_backend`) at v1.9.2. The fake has no
 * `--network` fabric, fleet mode or host service, so those inputs are always absent.
 */
import type { GuestNetwork } from './guest/process.ts';
import * as t from './texts.ts';

export interface NetworkRequest {
  /** `--net`, or implied by an allow-list (the record's `network`). */
  readonly net: boolean;
  readonly backend: string | null;
  /** Explicit and resolved CIDRs, and `--outbound-localhost-only`'s loopback. */
  readonly allowCidrs: readonly string[];
  readonly allowHosts: readonly string[];
  readonly ports: number;
}

function hasPolicy(r: NetworkRequest): boolean {
  return r.allowCidrs.length > 0 || r.allowHosts.length > 0;
}

/** `plan_launch_network`: none unless asked; virtio-net when ports or a policy need it. */
export function planNetwork(r: NetworkRequest): GuestNetwork {
  if (!(r.net || r.ports > 0 || hasPolicy(r))) return 'none';
  const backend = r.backend ?? (r.ports > 0 || hasPolicy(r) ? 'virtio-net' : 'tsi');
  return backend === 'virtio-net' ? 'virtio-net' : 'tsi';
}

/** `validate_requested_network_backend`: the reason smolvm refuses `r`, if it does. */
export function networkProblem(r: NetworkRequest): string | undefined {
  const backend = r.backend ?? (r.ports > 0 || hasPolicy(r) ? 'virtio-net' : 'tsi');
  if (r.ports > 0 && backend !== 'virtio-net') return t.portsNeedVirtio;
  if (hasPolicy(r) && backend !== 'virtio-net') return t.egressNeedsVirtio;
  if (r.backend === 'virtio-net' && !(r.net || r.ports > 0 || hasPolicy(r))) return t.virtioNeedsNet;
  return undefined;
}
