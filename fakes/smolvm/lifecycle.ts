/** `machine start|stop|status|ls`, following `src/cli/vm_common.rs` step by step. */
import type { ParsedArgs } from './clap.ts';
import { resolveHostToCidrs } from './dns.ts';
import { setUpForkpoint } from './fork-guest.ts';
import { agentAnswers, dependentClones, isFrozenForkBase, markStopped, resolvedState } from './fork-state.ts';
import * as ft from './fork-texts.ts';
import { Sink } from './guest/process.ts';
import { looksLocal } from './images.ts';
import { CommandFailure, type Io, type Machine, type SmolvmModel } from './model.ts';
import { DEFAULT_CPUS, DEFAULT_MEM_MIB, envMap, lsTable, nameProblem, statusJson, type MachineRecord } from './records.ts';
import * as t from './texts.ts';

// The agent's environment (src/agent/launcher.rs `krun_set_exec`), which bare-VM commands
// inherit; smolvm's own SMOLVM_* variables are left out.
export const BARE_ENV: ReadonlyArray<readonly [string, string]> = [
  ['HOME', '/root'],
  ['PATH', '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
  ['TERM', 'xterm-256color'],
];

export function refuseUnmodelled(args: ParsedArgs, command: string): void {
  const flag = args.unmodelled[0];
  if (flag) throw new CommandFailure(t.notModelled(`machine ${command} ${flag}`));
}

export async function start(model: SmolvmModel, args: ParsedArgs, io: Io): Promise<number> {
  refuseUnmodelled(args, 'start');
  const explicit = args.one('name');
  const name = explicit ?? 'default';
  const machine = model.machines.get(name);
  if (!machine) {
    if (explicit !== undefined) throw new CommandFailure(t.vmNotFound(name));
    // `start_vm_default` takes no fork parameters: --forkable does not reach a default boot.
    const booted = bootDefault(model, io);
    io.stdout.write(t.running(name, booted.record.pid ?? 0));
    return 0;
  }
  const pool = args.has('fork-pool-size');
  // `StartCmd::run`: `--fork-pool-size` implies a forkable launch.
  await startMachine(model, machine, io, { forkable: args.has('forkable') || pool, fromSnapshot: false, pool });
  return 0;
}

export interface LaunchOptions {
  /** `--forkable`: memfd-backed RAM, and the guest agent's forkpoint setup. */
  readonly forkable: boolean;
  /** A fork clone booted from its golden's snapshot: RAM (tmpfs) kept, workload not re-run. */
  readonly fromSnapshot: boolean;
  readonly pool?: boolean;
}

/** `start_vm_named_with_db`: the resolved state decides, then the VMM boots. */
export async function startMachine(model: SmolvmModel, machine: Machine, io: Io, options: LaunchOptions): Promise<void> {
  const r = machine.record;
  switch (resolvedState(model, r)) {
    case 'running':
      // Forkability is decided at boot: `--forkable` on a running machine changes nothing.
      io.stdout.write(t.alreadyRunning(r.name, r.pid ?? 0));
      return;
    case 'unreachable':
      recoverUnreachable(r, io);
      break;
    case 'frozen':
      throw new CommandFailure(ft.startFrozen(r.name, dependentClones(model, r.name)));
    default:
      break;
  }
  // The fake has no CUDA machine (`create --cuda` is refused), so a pool is always refused.
  if (options.pool) throw new CommandFailure(ft.forkPoolNeedsCuda);
  await launch(model, machine, io, options);
}

/** `cli_recover_if_unreachable`: the live VMM whose agent does not answer is killed. */
export function recoverUnreachable(r: MachineRecord, io: Io): void {
  io.stdout.write(ft.recoveringUnreachable(r.name, r.pid ?? 0));
  markStopped(r);
}

async function launch(model: SmolvmModel, machine: Machine, io: Io, options: LaunchOptions): Promise<void> {
  const r = machine.record;
  const name = r.name;
  // Allow-listed names are resolved afresh; a failure now only warns (fail-closed policy).
  for (const host of r.allowHosts) {
    const answer = await resolveHostToCidrs(host, model.resolveHost, model.dnsTimeoutMs);
    if ('error' in answer) io.stderr.write(t.allowHostStartWarning(host, answer.error));
  }
  // `check_port_conflicts`: another running machine holding one of our host ports.
  for (const other of model.machines.values()) {
    if (other.record.name === name || other.record.state !== 'running') continue;
    const clash = other.record.ports.find((p) => r.ports.some((q) => q.host === p.host));
    if (clash) throw new CommandFailure(t.hostPortInUse(clash.host, other.record.name));
  }
  io.stderr.write(t.starting(name, r.mounts.length, r.ports.length));
  const pid = model.nextPid++;
  model.uploadCounter = 0;
  if (!options.fromSnapshot) machine.fs.wipeTmpfs();
  if (options.forkable && !options.fromSnapshot) setUpForkpoint(machine.fs);

  if (!r.initCompleted) {
    if (r.imageSource !== null) {
      const local = looksLocal(r.imageSource);
      if (!local) io.stderr.write(t.pulling(r.image ?? r.imageSource));
      const pulled = model.images.pull(r.imageSource);
      if (!pulled) throw new CommandFailure(t.pullFailed(r.image ?? r.imageSource));
      machine.fs = pulled.rootfs;
      r.imageConfig = pulled.config;
      if (options.forkable) setUpForkpoint(machine.fs);
      // Docker-like default: a machine without its own command adopts the image's.
      if (r.entrypoint.length === 0 && r.cmd.length === 0) {
        r.entrypoint = [...pulled.config.entrypoint];
        r.cmd = [...pulled.config.cmd];
      }
    }
    if (r.init.length) io.stdout.write(t.runningInit(r.init.length));
    for (const [index, command] of r.init.entries()) {
      const stdout = new Sink();
      const stderr = new Sink();
      const outcome = await model.runGuest(machine, {
        argv: ['sh', '-c', command],
        env: guestEnv(machine, []),
        cwd: r.workdir ?? r.imageConfig?.workdir ?? '/',
        stdin: new Uint8Array(),
        stdout,
        stderr,
        signal: io.signal,
      });
      const code = outcome.kind === 'exited' ? outcome.code : 127;
      if (code !== 0) throw new CommandFailure(t.initFailed(index, code, stdout.text(), stderr.text()));
    }
    if (r.init.length || r.imageSource !== null) r.initCompleted = true;
  } else if (r.init.length) {
    io.stdout.write(t.initSkipped(r.init.length));
  }

  // A bare machine runs its workload to completion during start; an image machine's workload
  // container runs detached, which the fake does not simulate. A clone's already ran (golden).
  const workload = [...r.entrypoint, ...r.cmd];
  if (r.imageSource === null && workload.length && !options.fromSnapshot) {
    const outcome = await model.runGuest(machine, {
      argv: workload,
      env: guestEnv(machine, []),
      cwd: r.workdir ?? '/',
      stdin: new Uint8Array(),
      stdout: io.stdout,
      stderr: io.stderr,
      signal: io.signal,
    });
    if (outcome.kind !== 'exited') throw new CommandFailure(t.spawnFailed('errno' in outcome ? outcome.errno : 'ENOENT')); // no timeout here
    if (outcome.code !== 0) io.stderr.write(t.workloadExited(outcome.code));
  }
  io.stdout.write(t.running(name, pid));
  r.state = 'running';
  r.pid = pid;
  r.everStarted = true;
  if (options.forkable) r.vmm = { forkable: true, paused: false, retainedCheckpoint: false };
  else delete r.vmm;
}

/** `start_vm_default` with no record: a default bare machine is created and booted. */
function bootDefault(model: SmolvmModel, io: Io): Machine {
  io.stderr.write(t.starting('default', 0, 0));
  const machine: Machine = {
    record: {
      name: 'default',
      state: 'running',
      pid: model.nextPid++,
      createdAt: Math.floor(model.clock() / 1000),
      image: null,
      imageSource: null,
      cpus: DEFAULT_CPUS,
      mem: DEFAULT_MEM_MIB,
      storageGb: null,
      overlayGb: null,
      mounts: [],
      ports: [],
      network: false,
      netBackend: null,
      allowCidrs: [],
      allowHosts: [],
      env: [],
      workdir: null,
      init: [],
      entrypoint: [],
      cmd: [],
      labels: {},
      initCompleted: false,
      everStarted: true,
      imageConfig: null,
    },
    fs: model.bareRootfs(),
  };
  model.machines.set('default', machine);
  return machine;
}

/** The env a guest command starts with: agent/image env, then the record's `-e` values. */
export function guestEnv(machine: Machine, overrides: ReadonlyArray<readonly [string, string]>): Record<string, string> {
  const r = machine.record;
  const base = r.imageConfig ? Object.entries(r.imageConfig.env) : BARE_ENV;
  const env = envMap(base, r.env, overrides);
  env.HOME ??= machine.fs.defaultUser.home;
  return env;
}

export async function stop(model: SmolvmModel, args: ParsedArgs, io: Io): Promise<number> {
  let name = args.one('name');
  if (name === undefined) {
    if (!model.machines.has('default')) {
      io.stdout.write(t.stopping('default') + t.defaultStopped);
      return 0;
    }
    name = 'default';
  }
  const machine = model.machines.get(name);
  if (!machine) {
    const problem = nameProblem(name);
    throw new CommandFailure(problem ? t.invalidNameForManager(problem) : t.vmNotFound(name));
  }
  const r = machine.record;
  const state = resolvedState(model, r);
  switch (state) {
    case 'unreachable':
      recoverUnreachable(r, io);
      io.stdout.write(t.stopped(name));
      return 0;
    case 'frozen': {
      // A fork base must outlive its clones; with none left, its retained checkpoint goes too.
      const clones = dependentClones(model, name);
      if (clones.length) throw new CommandFailure(ft.stopForkBase(name, clones));
      break;
    }
    case 'running':
      break;
    default:
      io.stdout.write(t.notRunning(name, state));
      return 0;
  }
  io.stdout.write(t.stopping(name));
  markStopped(r);
  io.stdout.write(t.stopped(name));
  return 0;
}

export async function status(model: SmolvmModel, args: ParsedArgs, io: Io): Promise<number> {
  const name = args.one('name');
  if (args.has('json')) {
    const label = name ?? 'default';
    const machine = model.machines.get(label);
    if (!machine) throw new CommandFailure(t.statusJsonNotFound(label));
    io.stdout.write(`${JSON.stringify(statusJson(machine.record, resolvedState(model, machine.record)), null, 2)}\n`);
    return 0;
  }
  if (name === undefined) {
    // With no --name only a live default machine is probed; a stopped record reads "not running".
    const r = model.machines.get('default')?.record;
    io.stdout.write(r && agentAnswers(r) ? t.statusLine('default', 'running', r.pid) : t.statusDefaultNotRunning);
    return 0;
  }
  // A frozen fork base is reported from its record, without probing its paused agent.
  const r = model.machines.get(name)?.record;
  if (r && isFrozenForkBase(model, r)) {
    io.stdout.write(t.statusLine(name, 'frozen', null));
    return 0;
  }
  const problem = nameProblem(name);
  if (problem) throw new CommandFailure(t.invalidNameForManager(problem));
  if (!r) throw new CommandFailure(t.vmNotFound(name));
  io.stdout.write(agentAnswers(r) ? t.statusLine(name, 'running', r.pid) : t.statusLine(name, resolvedState(model, r), null));
  return 0;
}

export async function ls(model: SmolvmModel, args: ParsedArgs, io: Io): Promise<number> {
  // smolvm keeps records in a HashMap (unordered); the fake sorts by name to stay deterministic.
  const records = [...model.machines.values()].map((m) => m.record).sort((a, b) => (a.name < b.name ? -1 : 1));
  const stateOf = (r: MachineRecord) => resolvedState(model, r);
  if (args.has('json')) {
    io.stdout.write(
      records.length
        ? `${JSON.stringify(
            records.map((r) => statusJson(r, stateOf(r))),
            null,
            2,
          )}\n`
        : '[]\n',
    );
  } else {
    io.stdout.write(records.length ? lsTable(records, args.has('verbose'), stateOf) : t.noMachines);
  }
  return 0;
}

/** `ensure_running_and_connect`: exec and cp never auto-start. */
export function runningMachine(model: SmolvmModel, name: string | undefined): Machine {
  const label = name ?? 'default';
  if (name !== undefined) {
    const problem = nameProblem(name);
    if (problem) throw new CommandFailure(t.invalidNameForManager(problem));
  }
  const machine = model.machines.get(label);
  if (machine && agentAnswers(machine.record)) return machine;
  if (!machine) throw new CommandFailure(name !== undefined ? t.vmNotFound(name) : t.defaultNotFound);
  // `mark_unreachable_if_zombie`: a live VMM whose agent did not answer (a frozen fork base's
  // never does) is persisted as unreachable.
  const r = machine.record;
  if (r.state === 'running' && r.pid !== null) r.state = 'unreachable';
  throw new CommandFailure(t.notRunningUseStart(label, name !== undefined));
}
