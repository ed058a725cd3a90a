/** The machine record (smolvm's `VmRecord`, the fields the fake models) and its JSON view. */
import type { GuestEntry } from './guest-fs.ts';
import type { ImageConfig } from './images.ts';
import { nameReasons } from './texts.ts';

/**
 * The persisted state. smolvm also shows two resolved ones (`src/config.rs::RecordState`):
 * `frozen`, derived for a paused fork base (`fork-state.ts`), and `unreachable`, which
 * `ensure_running_and_connect` persists when a live VMM's agent does not answer.
 */
export type MachineState = 'created' | 'running' | 'stopped' | 'unreachable';
export type ResolvedState = MachineState | 'frozen';

/** What smolvm keeps in the running VMM process rather than in the record; gone when it stops. */
export interface VmmState {
  /** Booted with `--forkable`: memfd-backed RAM that `FORK` can snapshot. */
  readonly forkable: boolean;
  /** Frozen by `FORK` as a copy-on-write base: the guest never answers again. */
  paused: boolean;
  /** A fork checkpoint bound to this process that later forks reuse (`RetainedForkSnapshot`). */
  retainedCheckpoint: boolean;
  /** A clone's kernel hostname as the identity reset set it (`hostname '<clone>'`). */
  readonly hostname?: string;
}

export interface MachineRecord {
  readonly name: string;
  state: MachineState;
  pid: number | null;
  readonly createdAt: number;
  /** What `ls --json` shows: the registry ref, or `local:<hash>` / `local-dir:<path>`. */
  readonly image: string | null;
  /** The `--image` value as given; the fake's image registry is keyed by it. */
  readonly imageSource: string | null;
  readonly cpus: number;
  readonly mem: number;
  readonly storageGb: number | null;
  readonly overlayGb: number | null;
  readonly mounts: ReadonlyArray<{ readonly host: string; readonly guest: string; readonly readOnly: boolean }>;
  readonly ports: ReadonlyArray<{ readonly host: number; readonly guest: number }>;
  readonly network: boolean;
  readonly netBackend: string | null;
  readonly allowCidrs: readonly string[];
  readonly allowHosts: readonly string[];
  /** Ordered like the record's `Vec<(String, String)>`; later keys override earlier ones. */
  env: ReadonlyArray<readonly [string, string]>;
  readonly workdir: string | null;
  readonly init: readonly string[];
  entrypoint: readonly string[];
  cmd: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  initCompleted: boolean;
  /** The data dir exists once a machine has booted (UNCONFIRMED for never-started machines). */
  everStarted: boolean;
  /** Learned at the first pull, so later starts do not need the image registry. */
  imageConfig: ImageConfig | null;
  // Fork fields (`src/config.rs::VmRecord`), absent from state files written before them.
  /** `golden`: the fork base whose disks back this clone's. */
  readonly golden?: string;
  /** `forkpoint_held`: a pool slot still parked at the inherited forkpoint. */
  forkpointHeld?: boolean;
  /** `fork_env`: the parameters delivered as /etc/smolvm/fork-env. */
  forkEnv?: ReadonlyArray<readonly [string, string]>;
  vmm?: VmmState;
}

/** `exportState()` output: JSON-serialisable, restorable with `createFakeSmolvm({ state })`. */
export interface FakeSmolvmState {
  readonly version: 1;
  readonly nextPid: number;
  readonly machines: ReadonlyArray<{ readonly record: MachineRecord; readonly files: readonly GuestEntry[] }>;
}

export const DEFAULT_CPUS = 4;
export const DEFAULT_MEM_MIB = 8192;
const DEFAULT_STORAGE_GIB = 20;
const DEFAULT_OVERLAY_GIB = 10;
const MAX_NAME_LENGTH = 128;

/** `data::validate_vm_name`: the reason it would give, or undefined when the name is fine. */
export function nameProblem(name: string, label?: string): string | undefined {
  const reasons = nameReasons(label);
  const first = name[0];
  if (first === undefined) return reasons.empty;
  const bytes = Buffer.byteLength(name);
  if (bytes > MAX_NAME_LENGTH) return reasons.tooLong(bytes, MAX_NAME_LENGTH);
  if (!/[A-Za-z0-9]/.test(first)) return reasons.badStart(name);
  if (name.endsWith('-')) return reasons.endsWithHyphen(name);
  let previousHyphen = false;
  for (const c of name) {
    if (c === '-' && previousHyphen) return reasons.consecutiveHyphens;
    previousHyphen = c === '-';
    if (!/[A-Za-z0-9_-]/.test(c)) return c === '/' || c === '\\' ? reasons.pathSeparator : reasons.invalidChar(c);
  }
  return undefined;
}

/** `util::parse_env_spec`: `K=V`, or a bare `K` forwarded from the host env (dropped if unset). */
export function parseEnvSpec(spec: string, hostEnv: Readonly<Record<string, string>>): [string, string] | undefined {
  const eq = spec.indexOf('=');
  if (eq === -1) {
    const value = spec === '' ? undefined : hostEnv[spec];
    return value === undefined ? undefined : [spec, value];
  }
  return eq === 0 ? undefined : [spec.slice(0, eq), spec.slice(eq + 1)];
}

/** `vm_common::merge_env_overrides`, flattened to the map a process sees. */
export function envMap(...layers: ReadonlyArray<ReadonlyArray<readonly [string, string]>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const layer of layers) for (const [k, v] of layer) env[k] = v;
  return env;
}

/**
 * `vm_common::machine_status_json`. serde_json without `preserve_order` sorts object keys, so the
 * keys are emitted alphabetically, as smolvm prints them.
 */
export function statusJson(r: MachineRecord, state: ResolvedState): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    name: r.name,
    state,
    cpus: r.cpus,
    memory_mib: r.mem,
    pid: r.pid,
    mounts: r.mounts.length,
    ports: r.ports.length,
    created_at: r.createdAt,
    storage_gb: r.storageGb,
    overlay_gb: r.overlayGb,
    image: r.image,
    entrypoint: r.entrypoint,
    cmd: r.cmd,
    ephemeral: false,
    gpu: false,
    gpu_vram_mib: null,
    cuda: false,
    // `forkable_on_start()`: the record's own flag (a Smolfile's), never `start --forkable`'s.
    forkable: false,
    cuda_fork_pool_size: null,
    cuda_vram_limit_mib: null,
    forkpoint_held: r.forkpointHeld === true,
    labels: Object.fromEntries(Object.entries(r.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    restart_policy: 'never',
    restart_max_retries: 0,
    restart_count: 0,
    health_cmd: null,
    health_interval_secs: null,
    health_timeout_secs: null,
    health_retries: null,
    health_startup_grace_secs: null,
    network: r.network,
  };
  return Object.fromEntries(Object.entries(fields).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** `vm_common::list_vms` table rows (names truncated to 18 in 1.9.2). */
export function lsTable(records: readonly MachineRecord[], verbose: boolean, stateOf: (r: MachineRecord) => ResolvedState): string {
  const row = (cells: string[]): string => {
    const [name, state, cpus, mem, mounts, ports, storage, overlay] = cells as [string, string, string, string, string, string, string, string];
    return `${name.padEnd(20)} ${state.padEnd(12)} ${cpus.padStart(5)} ${mem.padStart(10)} ${mounts.padStart(7)} ${ports.padStart(7)} ${storage.padStart(8)} ${overlay.padStart(8)}\n`;
  };
  let out = row(['NAME', 'STATE', 'CPUS', 'MEMORY', 'MOUNTS', 'PORTS', 'STORAGE', 'OVERLAY']);
  out += `${'-'.repeat(88)}\n`;
  for (const r of records) {
    const name = r.name.length <= 18 ? r.name : `${r.name.slice(0, 15)}...`;
    out += row([
      name,
      stateOf(r),
      String(r.cpus),
      `${r.mem} MiB`,
      String(r.mounts.length),
      String(r.ports.length),
      `${r.storageGb ?? DEFAULT_STORAGE_GIB} GiB`,
      `${r.overlayGb ?? DEFAULT_OVERLAY_GIB} GiB`,
    ]);
    if (!verbose) continue;
    if (r.pid !== null) out += `  PID: ${r.pid}\n`;
    for (const m of r.mounts) out += `  Mount: ${m.host} -> ${m.guest}${m.readOnly ? ' (ro)' : ''}\n`;
    for (const p of r.ports) out += `  Port: ${p.host} -> ${p.guest}\n`;
    if (r.network) out += '  Network: enabled\n';
    if (r.forkpointHeld) out += '  Fork slot: held\n';
    for (const cmd of r.init) out += `  Init: ${cmd}\n`;
    for (const [k, v] of r.env) out += `  Env: ${k}=${v}\n`;
    if (r.workdir !== null) out += `  Workdir: ${r.workdir}\n`;
    out += `  Created: ${new Date(r.createdAt * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z')}\n\n`;
  }
  return out;
}
