/** `machine start|stop|delete|status|ls`, following `src/cli/vm_common.rs` step by step. */
import type { ParsedArgs } from './clap.ts';
import { resolveHostToCidrs } from './dns.ts';
import { Sink } from './guest/process.ts';
import { looksLocal } from './images.ts';
import { CommandFailure, type Io, type Machine, type SmolvmModel } from './model.ts';
import { DEFAULT_CPUS, DEFAULT_MEM_MIB, envMap, lsTable, nameProblem, statusJson } from './records.ts';
import * as t from './texts.ts';

// The agent's environment (src/agent/launcher.rs `krun_set_exec`), which bare-VM commands
// inherit; smolvm's own SMOLVM_* variables are left out.
const BARE_ENV: ReadonlyArray<readonly [string, string]> = [
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
  let machine = model.machines.get(name);
  if (!machine) {
    if (explicit !== undefined) throw new CommandFailure(t.vmNotFound(name));
    machine = bootDefault(model, io);
    io.stdout.write(t.running(name, machine.record.pid ?? 0));
    return 0;
  }
  const r = machine.record;
  if (r.state === 'running') {
    io.stdout.write(t.alreadyRunning(name, r.pid ?? 0));
    return 0;
  }
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
  machine.fs.wipeTmpfs();

  if (!r.initCompleted) {
    if (r.imageSource !== null) {
      const local = looksLocal(r.imageSource);
      if (!local) io.stderr.write(t.pulling(r.image ?? r.imageSource));
      const pulled = model.images.pull(r.imageSource);
      if (!pulled) throw new CommandFailure(t.pullFailed(r.image ?? r.imageSource));
      machine.fs = pulled.rootfs;
      r.imageConfig = pulled.config;
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
  // container runs detached, which the fake does not simulate.
  const workload = [...r.entrypoint, ...r.cmd];
  if (r.imageSource === null && workload.length) {
    const outcome = await model.runGuest(machine, {
      argv: workload,
      env: guestEnv(machine, []),
      cwd: r.workdir ?? '/',
      stdin: new Uint8Array(),
      stdout: io.stdout,
      stderr: io.stderr,
      signal: io.signal,
    });
    if (outcome.kind !== 'exited') throw new CommandFailure(t.spawnFailed);
    if (outcome.code !== 0) io.stderr.write(t.workloadExited(outcome.code));
  }
  io.stdout.write(t.running(name, pid));
  r.state = 'running';
  r.pid = pid;
  r.everStarted = true;
  return 0;
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
  if (r.state !== 'running') {
    io.stdout.write(t.notRunning(name, r.state));
    return 0;
  }
  io.stdout.write(t.stopping(name));
  r.state = 'stopped';
  r.pid = null;
  io.stdout.write(t.stopped(name));
  return 0;
}

export async function remove(model: SmolvmModel, args: ParsedArgs, io: Io): Promise<number> {
  const name = args.one('name') as string;
  const machine = model.machines.get(name);
  if (!machine) throw new CommandFailure(t.vmNotFound(name));
  const r = machine.record;
  // The stop comes before the prompt, so a cancelled delete leaves the machine stopped (§4).
  if (r.state === 'running') {
    io.stdout.write(t.stopping(name));
    r.state = 'stopped';
    r.pid = null;
  }
  if (!args.has('force') && !args.has('cascade')) {
    io.stderr.write(t.deletePrompt(name));
    const answer = (await io.stdin.line())?.trim().toLowerCase();
    if (answer !== 'y' && answer !== 'yes') {
      io.stdout.write(t.deleteCancelled);
      return 0;
    }
  }
  if (r.everStarted) io.stdout.write(t.cleaningUp(name));
  model.machines.delete(name);
  io.stdout.write(t.deleted(name));
  return 0;
}

export async function status(model: SmolvmModel, args: ParsedArgs, io: Io): Promise<number> {
  const name = args.one('name');
  if (args.has('json')) {
    const label = name ?? 'default';
    const machine = model.machines.get(label);
    if (!machine) throw new CommandFailure(t.statusJsonNotFound(label));
    io.stdout.write(`${JSON.stringify(statusJson(machine.record), null, 2)}\n`);
    return 0;
  }
  if (name === undefined) {
    // With no --name only a live default machine is probed; a stopped record reads "not running".
    const r = model.machines.get('default')?.record;
    io.stdout.write(r?.state === 'running' ? t.statusLine('default', 'running', r.pid) : t.statusDefaultNotRunning);
    return 0;
  }
  const problem = nameProblem(name);
  if (problem) throw new CommandFailure(t.invalidNameForManager(problem));
  const r = model.machines.get(name)?.record;
  if (!r) throw new CommandFailure(t.vmNotFound(name));
  io.stdout.write(t.statusLine(name, r.state, r.state === 'running' ? r.pid : null));
  return 0;
}

export async function ls(model: SmolvmModel, args: ParsedArgs, io: Io): Promise<number> {
  // smolvm keeps records in a HashMap (unordered); the fake sorts by name to stay deterministic.
  const records = [...model.machines.values()].map((m) => m.record).sort((a, b) => (a.name < b.name ? -1 : 1));
  if (args.has('json')) {
    io.stdout.write(records.length ? `${JSON.stringify(records.map(statusJson), null, 2)}\n` : '[]\n');
  } else {
    io.stdout.write(records.length ? lsTable(records, args.has('verbose')) : t.noMachines);
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
  if (machine?.record.state === 'running') return machine;
  if (!machine) throw new CommandFailure(name !== undefined ? t.vmNotFound(name) : t.defaultNotFound);
  throw new CommandFailure(t.notRunningUseStart(label, name !== undefined));
}
