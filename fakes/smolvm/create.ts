/**
 * `machine create`, in the order `src/cli/machine.rs::CreateCmd::run` checks things (v1.9.2):
 * stray-flag note, `--allow-host` resolution, image source, labels, resources, network backend,
 * duplicate ports, then `vm_common::build_vm_record` (name, volumes, image fetchability) and the
 * name reservation.
 */
import { createHash } from 'node:crypto';
import { resolve as resolveHostPath } from 'node:path';
import type { ParsedArgs } from './clap.ts';
import { resolveHostToCidrs } from './dns.ts';
import { GuestFs } from './guest-fs.ts';
import { looksLocal } from './images.ts';
import { refuseUnmodelled } from './lifecycle.ts';
import { CommandFailure, type Io, type SmolvmModel } from './model.ts';
import { networkProblem, planNetwork } from './network.ts';
import { nameProblem, parseEnvSpec, type MachineRecord } from './records.ts';
import { DEFAULT_CPUS, DEFAULT_MEM_MIB } from './records.ts';
import { createSpec } from './specs.ts';
import * as t from './texts.ts';
import { parseVolumes } from './volumes.ts';

export async function create(model: SmolvmModel, args: ParsedArgs, io: Io): Promise<number> {
  refuseUnmodelled(args, 'create');
  const workload = [...args.rest];
  const longs = new Set(createSpec.options.map((o) => `--${o.long}`));
  const stray = [...new Set(workload.filter((w) => longs.has(w)))];
  if (stray.length) io.stderr.write(t.strayCreateFlagsNote(stray));

  // `resolve_egress_flags`: every name must resolve now, or the create fails.
  const allowHosts = [...args.all('allow-host')];
  const resolved: string[] = [];
  for (const host of allowHosts) {
    const answer = await resolveHostToCidrs(host, model.resolveHost, model.dnsTimeoutMs);
    if ('error' in answer) throw new CommandFailure(t.allowHostRefused(answer.error));
    resolved.push(...answer.cidrs);
  }
  const allowCidrs = [...args.all('allow-cidr')];
  if (args.has('outbound-localhost-only')) allowCidrs.push('127.0.0.0/8', '::1/128');
  const name = args.one('name') ?? `vm-${model.generateShortId()}`;

  const source = args.one('image') ?? null;
  let image = source;
  if (source === '-') throw new CommandFailure(t.stdinImageUnsupported);
  if (source !== null && looksLocal(source)) {
    if (!model.images.has(source)) throw new CommandFailure(t.localImageMissing(source));
    image = /\.(tar|tar\.gz|tgz)$/.test(source) ? `local:${createHash('sha256').update(source).digest('hex')}` : `local-dir:${resolveHostPath(source)}`;
  }

  const labels: Record<string, string> = {};
  for (const entry of args.all('label')) {
    const eq = entry.indexOf('=');
    if (eq === -1) throw new CommandFailure(t.labelNotKeyValue(entry));
    if (eq === 0) throw new CommandFailure(t.labelEmptyKey(entry));
    labels[entry.slice(0, eq)] = entry.slice(eq + 1);
  }

  const cpus = Number(args.one('cpus') ?? DEFAULT_CPUS);
  const mem = Number(args.one('mem') ?? DEFAULT_MEM_MIB);
  const storage = args.one('storage');
  const overlay = args.one('overlay');
  if (cpus === 0) throw new CommandFailure(t.resourceReasons.noCpu);
  if (cpus > 16) io.stderr.write(`warning: requested ${cpus} vCPUs but the hypervisor supports at most 16; the VM will run with 16 vCPUs\n`);
  if (mem < 64) throw new CommandFailure(t.resourceReasons.tooLittleMemory(mem));
  if (storage === '0') throw new CommandFailure(t.resourceReasons.zeroStorage);
  if (overlay === '0') throw new CommandFailure(t.resourceReasons.zeroOverlay);

  const ports = args.all('port').map((p) => {
    const [host, guest] = p.split(':').map(Number) as [number, number];
    return { host, guest };
  });
  const network = args.has('net') || allowCidrs.length > 0 || resolved.length > 0;
  const request = {
    net: network,
    backend: args.one('net-backend') ?? null,
    allowCidrs: [...allowCidrs, ...resolved],
    allowHosts,
    ports: ports.length,
  };
  const refused = networkProblem(request);
  if (refused) throw new CommandFailure(refused);
  const seenPorts = new Set<number>();
  for (const { host } of ports) {
    if (seenPorts.has(host)) throw new CommandFailure(t.duplicateHostPort(host));
    seenPorts.add(host);
  }

  const problem = nameProblem(name);
  if (problem) throw new CommandFailure(t.invalidNameForCreate(problem));
  const mounts = await parseVolumes(args.all('volume'), model.hostFs);
  // `validate_image_fetchable`: a registry pull needs whatever network the launch plan gives.
  if (source !== null && !looksLocal(source) && planNetwork(request) === 'none') {
    throw new CommandFailure(t.imageNeedsNetwork(source));
  }
  if (model.machines.has(name)) throw new CommandFailure(t.alreadyExists(name));

  const env = args.all('env').flatMap((spec) => {
    const pair = parseEnvSpec(spec, io.env);
    return pair ? [pair] : [];
  });
  const record: MachineRecord = {
    name,
    state: 'created',
    pid: null,
    createdAt: Math.floor(model.clock() / 1000),
    image,
    imageSource: source,
    cpus,
    mem,
    storageGb: storage === undefined ? null : Number(storage),
    overlayGb: overlay === undefined ? null : Number(overlay),
    mounts,
    ports,
    network,
    netBackend: request.backend,
    allowCidrs,
    allowHosts,
    env,
    workdir: args.one('workdir') ?? null,
    init: [...args.all('init')],
    entrypoint: [],
    cmd: workload,
    labels,
    initCompleted: false,
    everStarted: false,
    imageConfig: null,
  };
  // An image machine's rootfs arrives with the first pull, at start.
  model.machines.set(name, { record, fs: source === null ? model.bareRootfs() : new GuestFs() });
  io.stdout.write(t.createSuccess({ name, cpus, mem, mounts: mounts.length, ports: ports.length, init: record.init.length }));
  return 0;
}
