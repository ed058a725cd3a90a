/**
 * Every line the fake's smolvm prints, in one place, so they read like golden fixtures.
 * "§N" points at /work/shared/docs/smolvm-cli.md; file paths point at the smolvm v1.9.2 source
 * (`smol-machines/smolvm` at a5df5001), which is where the exact wording was copied from.
 */

// §0 `src/main.rs`: any command error is `Error: <Display>` on stderr, exit 1.
export const errorLine = (display: string): string => `Error: ${display}\n`;

// §0 `src/data/errors.rs` Display formats.
export const vmNotFound = (name: string): string => `vm not found: ${name}`;
export const configFailed = (operation: string, reason: string): string => `config operation failed: ${operation}: ${reason}`;
export const agentFailed = (operation: string, reason: string): string => `agent operation failed: ${operation}: ${reason}`;
export const mountFailed = (operation: string, reason: string): string => `mount operation failed: ${operation}: ${reason}`;

// `smolvm --version` (clap `#[command(version)]`).
export const versionLine = (version: string): string => `smolvm ${version}\n`;

// §1 `src/data/mod.rs::validate_vm_name(name, label)`: "machine name", or "clone name" for a fork
// (`src/agent/fork.rs::prepare_forks_reusing`). `{name:?}` is Rust Debug quoting.
export const nameReasons = (label = 'machine name') => ({
  empty: `${label} cannot be empty`,
  tooLong: (length: number, max: number) => `${label} too long: ${length} characters (max ${max})`,
  badStart: (name: string) => `${label} must start with a letter or digit (got: ${rustDebug(name)})`,
  endsWithHyphen: (name: string) => `${label} cannot end with a hyphen (got: ${rustDebug(name)})`,
  consecutiveHyphens: `${label} cannot contain consecutive hyphens`,
  pathSeparator: `${label} cannot contain path separators`,
  invalidChar: (c: string) => `${label} contains invalid character: '${c}'`,
});
// `src/agent/manager.rs::new_internal`: exec/cp/status/stop validate the name before connecting.
export const invalidNameForManager = (reason: string): string => configFailed('validate machine name', reason);
// §4 create with an invalid name (`vm_common::build_vm_record`).
export const invalidNameForCreate = (reason: string): string => configFailed('create machine', reason);

// §4 `vm_common::CreateVmReservation::reserve`.
export const alreadyExists = (name: string): string => configFailed('create machine', `machine '${name}' already exists or is being created`);

// §4 `src/config.rs::validate_image_fetchable` (#807).
export const imageNeedsNetwork = (image: string): string =>
  configFailed(
    'create machine',
    `image '${image}' must be pulled from a registry, but this machine has no network, so the pull can never ` +
      'succeed. Add --net (or publish a port with -p, or set an egress policy with --allow-cidr/--allow-host). ' +
      'To keep the machine network-isolated, supply the image locally instead: ' +
      `\`docker save ${image} | smolvm machine create --image - ...\``,
  );

// `src/util.rs::parse_labels`.
export const labelNotKeyValue = (entry: string): string => configFailed('--label', `expected KEY=VALUE, got '${entry}'`);
export const labelEmptyKey = (entry: string): string => configFailed('--label', `label key cannot be empty (in '${entry}')`);

// `src/data/resources.rs::VmResources::validate`.
export const resourceReasons = {
  noCpu: configFailed('validate resources', 'CPU count must be at least 1'),
  tooLittleMemory: (mib: number) => configFailed('validate resources', `memory must be at least 64 MiB (got ${mib} MiB)`),
  zeroStorage: configFailed('validate resources', 'storage disk size must be greater than 0 GiB'),
  zeroOverlay: configFailed('validate resources', 'overlay disk size must be greater than 0 GiB'),
};

// `src/data/storage.rs::HostMount::{_parse, new, validate, ensure_unique_targets}`; the variants'
// Display formats are `src/data/errors.rs` (`InvalidMountPath`, `MountSourceNotFound`, `Mount`).
export const volumeMalformed = (spec: string): string => `invalid mount path: invalid format '${spec}' (expected host:guest[:ro|:rw])`;
export const volumeSourceNotFound = (path: string): string => `mount source not found: ${path}`;
export const volumeNotDirectory = (path: string): string =>
  mountFailed('validate host path', `source path on host must be a directory (virtiofs limitation): ${path}`);
export const volumeCanonicalize = (path: string, io: string): string => mountFailed('canonicalize host path', `'${path}': ${io}`);
export const volumeProtected = (path: string): string =>
  mountFailed('validate host path', `source path on host is a protected system path and cannot be mounted: ${path}`);
export const volumeGuestNotAbsolute = (guest: string): string =>
  mountFailed('validate guest path', `target path on guest should be an absolute directory: ${guest}`);
export const volumeDuplicateTarget = (guest: string): string => mountFailed('validate mounts', `duplicate mount target: ${guest} is specified more than once`);

// `src/smolfile.rs::resolve_host_to_cidrs`, wrapped by `src/cli/machine.rs::resolve_egress_flags`
// as `Error::config("--allow-host", e)` at create.
export const allowHostPortSuffix = (host: string): string =>
  `invalid hostname '${host}': port suffixes are not supported. Use the hostname only (all ports are allowed to resolved IPs).`;
export const allowHostTimedOut = (host: string): string => `DNS resolution for '${host}' timed out after 10 seconds`;
export const allowHostUnresolved = (host: string, io: string): string => `failed to resolve '${host}': ${io}`;
export const allowHostNoAddresses = (host: string): string => `'${host}' resolved to no addresses`;
export const allowHostRefused = (reason: string): string => configFailed('--allow-host', reason);
// `src/cli/vm_common.rs::start_vm_named_with_db` re-resolves at start and only warns.
export const allowHostStartWarning = (host: string, reason: string): string => `Warning: could not resolve '${host}' for egress policy: ${reason}\n`;

// `src/network/launch.rs::validate_requested_network_backend`.
export const portsNeedVirtio = configFailed(
  'ports',
  'published ports require the virtio-net backend (TSI is outbound-only); remove --net-backend tsi or set it to virtio-net',
);
export const egressNeedsVirtio = configFailed(
  'egress',
  'egress policy (--allow-cidr/--allow-host/--outbound-localhost-only) requires the virtio-net backend; ' +
    'TSI does not enforce it. Remove --net-backend tsi or set it to virtio-net',
);
export const virtioNeedsNet = configFailed('--net-backend', '--net-backend virtio-net requires --net');

// `src/data/network.rs::PortMapping::check_duplicates`, wrapped in `CreateCmd::run`.
export const duplicateHostPort = (port: number): string =>
  configFailed('validate ports', `duplicate host port ${port}: each host port can only be mapped once`);
// `src/cli/vm_common.rs::check_port_conflicts`.
export const hostPortInUse = (port: number, machine: string): string =>
  configFailed('start machine', `host port ${port} is already in use by running machine '${machine}'`);

// §5 local image sources the fake was not told about. Wording UNCONFIRMED (`image_source::resolve`).
export const localImageMissing = (path: string): string => configFailed('--image', `cannot use image source ${path}: No such file or directory (os error 2)`);
export const stdinImageUnsupported = configFailed('--image', 'the fake smolvm does not read image archives from stdin');

// `machine create`: machine flags written after `--` (PR #958, `CreateCmd::run`).
export const strayCreateFlagsNote = (flags: readonly string[]): string =>
  `note: ${flags.join(', ')} came after \`--\`, so ${flags.length === 1 ? 'it was' : 'they were'} passed to the ` +
  'workload and did not configure the machine. Machine options go before `--`.\n';

// §4 `vm_common::print_create_success` (stdout).
export function createSuccess(c: { name: string; cpus: number; mem: number; mounts: number; ports: number; init: number }): string {
  let out = `Created machine: ${c.name}\n  CPUs: ${c.cpus}, Memory: ${c.mem} MiB\n`;
  if (c.mounts) out += `  Mounts: ${c.mounts}\n`;
  if (c.ports) out += `  Ports: ${c.ports}\n`;
  if (c.init) out += `  Init commands: ${c.init}\n`;
  out += `\nUse 'smolvm machine start --name ${c.name}' to start the machine\n`;
  out += `Then use 'smolvm machine exec --name ${c.name} -- <command>' to run commands\n`;
  return out;
}

// §4 start (`vm_common::start_vm_named_with_db`, `start_vm_default`).
export const starting = (name: string, mounts: number, ports: number): string =>
  `Starting machine '${name}'${mounts ? ` with ${mounts} mount(s)` : ''}${ports ? ` and ${ports} port mapping(s)` : ''}...\n`;
export const alreadyRunning = (name: string, pid: number): string => `Machine '${name}' already running (PID: ${pid})\n`;
export const running = (name: string, pid: number): string => `Machine '${name}' running (PID: ${pid})\n`;
// `cli::pull_with_progress` prints the progress line and then "done." even when the pull fails.
export const pulling = (image: string): string => `Pulling ${image}...\nPulling image ${image}...\rPulling image ${image}... done.${' '.repeat(30)}\n`;
// Pull failure text is the guest crane's; this wording is UNCONFIRMED.
export const pullFailed = (image: string): string => agentFailed('pull image', `failed to fetch manifest for ${image}: MANIFEST_UNKNOWN: manifest unknown`);
export const runningInit = (count: number): string => `Running ${count} init command(s)...\n`;
export const initSkipped = (count: number): string => `Init already completed, skipping ${count} command(s)\n`;
// `vm_common::format_init_failure`.
export function initFailed(index: number, exitCode: number, stdout: string, stderr: string): string {
  const so = stdout.trim();
  const se = stderr.trim();
  const suffix = so && se ? `: ${se}; stdout: ${so}` : so || se ? `: ${so || se}` : '';
  return agentFailed('init', `init[${index}] failed (exit ${exitCode})${suffix}`);
}
export const workloadExited = (code: number): string => `workload exited with code ${code}\n`;

// §4 stop (`vm_common::stop_vm_named`, `stop_vm_default`).
export const stopping = (name: string): string => `Stopping machine '${name}'...\n`;
export const stopped = (name: string): string => `Stopped machine: ${name}\n`;
export const notRunning = (name: string, state: string): string => `Machine '${name}' is not running (state: ${state})\n`;
export const defaultStopped = "Machine 'default' stopped\n";

// §4 delete (`vm_common::delete_vm`).
export const deletePrompt = (name: string): string => `Delete machine '${name}'? [y/N] `;
export const deleteCancelled = 'Cancelled\n';
export const cleaningUp = (name: string): string => `Cleaning up data directory for vm: ${name}\n`;
export const deleted = (name: string): string => `Deleted machine: ${name}\n`;

// §4 status (`vm_common::status_vm`, `status_vm_json`).
export const statusLine = (name: string, state: string, pid: number | null): string => `Machine '${name}': ${state}${pid !== null ? ` (PID: ${pid})` : ''}\n`;
export const statusDefaultNotRunning = "Machine 'default': not running\n";
export const statusJsonNotFound = (name: string): string => configFailed('machine status', `machine '${name}' not found`);

// §4 ls (`vm_common::list_vms`).
export const noMachines = 'No machines found\n';

// §3 / §2 `vm_common::ensure_running_and_connect`.
export const notRunningUseStart = (name: string, explicit: boolean): string =>
  agentFailed('connect', `machine '${name}' is not running. Use '${explicit ? `smolvm machine start --name ${name}` : 'smolvm machine start'}' first.`);
export const defaultNotFound = agentFailed('connect', "machine 'default' not found");

// §3 exec. Spawn failures come from the agent (`handle_vm_exec`, `handle_interactive_vm_exec`,
// `handle_vm_exec_background`), each formatting the io::Error `Command::spawn` returned.
export const spawnFailed = (errno: string): string => agentFailed('vm exec', `failed to spawn command: ${ioError(errno)}`);
export const interactiveSpawnFailed = (errno: string): string => agentFailed('vm exec interactive', ioError(errno));
export const backgroundSpawnFailed = (errno: string): string => agentFailed('vm exec background', `failed to spawn background command: ${ioError(errno)}`);
export const MAX_EXEC_OUTPUT = 11 * 1024 * 1024;
export const outputCapExceeded = (operation: 'vm exec' | 'run command'): string =>
  agentFailed(operation, `command output exceeded ${MAX_EXEC_OUTPUT} bytes and was truncated. Use streaming exec (exec_stream / execStream) for large output.`);
// Container exec path only; the bare path appends nothing (§3 Timeout).
export const containerTimedOut = (ms: number): string => `\ncommand timed out after ${ms}ms`;
// Image machines run through `crun exec`; its not-found text and code are UNCONFIRMED (§10).
export const crunNotFound = (program: string): string => `crun: executable file \`${program}\` not found in $PATH: No such file or directory\n`;
export const crunNoCwd = (dir: string): string => `crun: chdir to \`${dir}\`: No such file or directory\n`;
export const CRUN_NOT_FOUND_EXIT = 127;

// §2 cp (`CpCmd::run`, `AgentClient` file transfer, agent `install_file_atomic` / `nsfile.rs`).
export const cpNeedsMachinePath = configFailed('cp', 'one of SRC or DST must use machine:path syntax (e.g., myvm:/workspace/file)');
export const cpMetaOnDownload = configFailed('cp', '--mode/--uid/--gid apply to uploads only (host -> machine)');
export const cpBadMode = (mode: string): string => configFailed('cp', `invalid octal mode '${mode}' (expected e.g. 644)`);
export const readLocalFile = (path: string, io: string): string => agentFailed('read local file', `${path}: ${io}`);
export const readSourceFile = (io: string): string => agentFailed('read source file', io);
export const writeLocalFile = (path: string, io: string): string => agentFailed('write local file', `${path}: ${io}`);
export const invalidGuestPath = (path: string, reason: string): string => `invalid guest path ${path}: ${reason}`;
export const createDirFailed = (dir: string, io: string): string => `failed to create directory ${dir}: ${io}`;
export const renameOntoFailed = (path: string, io: string): string => `failed to rename onto ${path}: ${io}`;
export const containerRenameFailed = (path: string, io: string): string => `failed to write ${path} in the workload container: rename into ${path}: ${io}`;
export const containerCreateFailed = (path: string, dir: string, io: string): string =>
  `failed to write ${path} in the workload container: create ${dir}: ${io}`;
export const openFailed = (path: string, io: string): string => `failed to open ${path}: ${io}`;
export const containerOpenFailed = (path: string, io: string): string => `failed to read ${path} in the workload container: open ${path}: ${io}`;
export const notRegularFile = (path: string): string => `not a regular file: ${path}`;
/** Staging names: root namespace `install_file_atomic`, and the container helper in `nsfile.rs`. */
export const stagingName = (file: string, pid: number, n: number): string => `${file}.smolvm-upload.${pid}.${n}`;
export const containerStagingName = (file: string, pid: number): string => `.smolvm-upload.${pid}.${file}`;

// Rust `std::io::Error` Display for the errno values the fake produces.
const IO_ERRORS: Record<string, string> = {
  ENOENT: 'No such file or directory (os error 2)',
  EACCES: 'Permission denied (os error 13)',
  EEXIST: 'File exists (os error 17)',
  ENOTDIR: 'Not a directory (os error 20)',
  EISDIR: 'Is a directory (os error 21)',
  EPERM: 'Operation not permitted (os error 1)',
  ENOEXEC: 'Exec format error (os error 8)',
  ELOOP: 'Too many levels of symbolic links (os error 40)',
};
export function ioError(code: string | undefined): string {
  return IO_ERRORS[code ?? ''] ?? `${code ?? 'unknown error'}`;
}

// `cli::ProgressBar::finish` with `cli::format_bytes`; the cp progress line goes to stderr.
export function formatBytes(bytes: number): string {
  const KB = 1024;
  const MB = KB * 1024;
  const GB = MB * 1024;
  if (bytes >= GB) return `${(bytes / GB).toFixed(1)} GB`;
  if (bytes >= MB) return `${(bytes / MB).toFixed(1)} MB`;
  if (bytes >= KB) return `${(bytes / KB).toFixed(1)} KB`;
  return `${bytes} B`;
}
export function progressLine(label: string, bytes: number, total: number | null, elapsedMs: number): string {
  const rate = `${formatBytes(Math.floor(bytes / Math.max(elapsedMs / 1000, 0.001)))}/s`;
  if (total !== null && total > 0) {
    const pct = Math.min((bytes * 100) / total, 100).toFixed(1);
    return `${label}: ${formatBytes(bytes)} / ${formatBytes(total)} (${pct}%, ${rate})\n`;
  }
  return `${label}: ${formatBytes(bytes)} (${rate})\n`;
}

// Subcommands the fake does not model answer honestly instead of pretending.
export const notModelled = (what: string): string => configFailed('fake smolvm', `'${what}' is not modelled by the fake`);

// Clap 4 usage errors (exit 2). Layout copied from clap's default error formatter.
export const CLAP_MORE_INFO = "For more information, try '--help'.\n";
export function clapError(message: string, usage?: string, tip?: string): string {
  let out = `error: ${message}\n`;
  if (tip) out += `\n  tip: ${tip}\n`;
  if (usage) out += `\nUsage: ${usage}\n`;
  return `${out}\n${CLAP_MORE_INFO}`;
}

// busybox strerror texts (no "(os error N)" suffix inside the guest). The guest's own messages
// live with the applet or shell module that prints them, each citing its busybox source.
export const GUEST_ERRNO: Record<string, string> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EEXIST: 'File exists',
  ENOTDIR: 'Not a directory',
  EISDIR: 'Is a directory',
  EPERM: 'Operation not permitted',
  ENOTEMPTY: 'Directory not empty',
  EINVAL: 'Invalid argument',
  EXDEV: 'Invalid cross-device link',
};

function rustDebug(s: string): string {
  return JSON.stringify(s);
}
