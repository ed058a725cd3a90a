import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { launcherAlive } from '../../bottle/launcher.ts';
import { BottleRegistry } from '../../bottle/registry.ts';
import { teardownRecorded } from '../../bottle/teardown.ts';
import { removeOwnedMachine, removeOwnedNetwork } from '../../engine/ownership.ts';
import { AGENT_NAME_RULE, agentNameProblem } from '../../agent/names.ts';
import { AGENT_LABEL, BOTTLE_LABEL, LAUNCH_LABEL } from '../../engine/types.ts';
import { stateRoot } from '../../host/state.ts';
import { createProcessTransport } from '../../transport/process.ts';
import { type BackendChoice, type BackendKind, openBackend, probeDocker, probePodman, probeSmolvm } from '../backends.ts';
import { EXIT, type Io, UsageError } from '../io.ts';
import { bottleState } from './ls.ts';

/**
 * Finds what claude-bottle left behind, by its records and labels, and removes it:
 * - always: bottles whose machine is gone, and launches whose launcher died half-way (`crashed`),
 *   with every network labelled with their launch id and their host files;
 * - with `orphans`: also bottles whose daemons died with their launcher (`orphaned`), labelled
 *   machines no record knows (an SDK process's, or a crashed one's), labelled networks no machine
 *   uses and no live launch owns, and host files no record owns. An SDK process's bottles are
 *   unrecorded, which is why that part is opt-in.
 * Every machine and network is read back and removed only when it carries our labels.
 */
export async function pruneCommand(io: Io, args: { backend: BackendChoice; orphans: boolean; agent?: string }): Promise<number> {
  if (args.agent !== undefined && agentNameProblem(args.agent))
    throw new UsageError(`--agent: ${JSON.stringify(args.agent)} is not an agent name (${AGENT_NAME_RULE})`);
  const registry = new BottleRegistry(stateRoot(io.env));
  // --agent narrows everything: the records, and the labels machines and networks are listed by.
  const scope: Record<string, string> = { [BOTTLE_LABEL]: '1', ...(args.agent !== undefined ? { [AGENT_LABEL]: args.agent } : {}) };
  const records = (await registry.list()).filter((r) => args.agent === undefined || r.agent === args.agent);
  const kinds = new Set<BackendKind>(args.backend !== 'auto' ? [args.backend] : ['fake', ...records.map((r) => r.backend as BackendKind)]);
  if (args.backend === 'auto') {
    const transport = createProcessTransport({ env: io.env });
    const [smolvm, docker, podman] = await Promise.all([probeSmolvm(transport), probeDocker(transport), probePodman(transport, io.env)]);
    if (smolvm.installed && smolvm.missing.length === 0) kinds.add('smolvm');
    if (docker.answers) kinds.add('docker');
    if (podman.answers) kinds.add('podman');
  }
  const dropped: string[] = [];
  const removed: string[] = [];
  const networks: string[] = [];
  const leftovers: string[] = [];
  const bases: string[] = [];
  const liveLaunches = new Set<string>();
  for (const kind of kinds) {
    const backend = await openBackend(kind, io);
    try {
      const { engine } = backend;
      const machines = new Map((await engine.list(scope)).map((m) => [m.name, m]));
      const known = records.filter((r) => r.backend === kind);
      const kept = new Set<string>();
      for (const record of known) {
        const state = await bottleState(record, machines.get(record.name));
        const gone = state === 'missing' || state === 'crashed';
        if (!gone && !(args.orphans && state === 'orphaned')) {
          kept.add(record.name);
          if (record.launchId) liveLaunches.add(record.launchId);
          continue;
        }
        const done = await teardownRecorded(engine, registry, record);
        networks.push(...done.networks);
        if (gone) dropped.push(record.name);
        else removed.push(`${record.name} (${kind}, ${state})`);
        machines.delete(record.name);
      }
      // A golden its engine left frozen with no fork recorded (a fork killed half-way): marked, so
      // its next command thaws it.
      const parents = new Set((await registry.list()).flatMap((r) => (r.forkOf ? [r.forkOf.name] : [])));
      for (const record of known) {
        if (kept.has(record.name) && !record.frozen && !parents.has(record.name) && machines.get(record.name)?.state === 'frozen') {
          await registry.save({ ...record, frozen: true });
        }
      }
      // What routes left outside any network (firewall chains) whose launch is neither live nor still networked.
      for (const leftover of args.agent === undefined ? ((await engine.listRouteLeftovers?.()) ?? []) : []) {
        if (liveLaunches.has(leftover.launchId)) continue;
        if (((await engine.listNetworks?.({ [LAUNCH_LABEL]: leftover.launchId })) ?? []).length > 0) continue;
        await engine.removeRouteLeftovers?.(leftover.launchId);
        leftovers.push(leftover.description);
      }
      // Fork bases (images committed for forks) no machine uses any more, unless a live fork launch made them.
      for (const info of (await engine.listForkBases?.(scope)) ?? []) {
        const launch = info.labels[LAUNCH_LABEL];
        if (info.machines > 0 || (launch !== undefined && liveLaunches.has(launch))) continue;
        if ((await engine.removeForkBase?.(info.base)) === 'removed') bases.push(`${info.base.kind} ${info.base.id.replace(/^sha256:/, '').slice(0, 12)}`);
      }
      if (!args.orphans) continue;
      for (const [name, machine] of machines) {
        if (kept.has(name)) continue;
        if ((await removeOwnedMachine(engine, machine.id, { anyBottle: true })) === 'removed') removed.push(`${name} (${kind})`);
      }
      for (const network of (await engine.listNetworks?.(scope)) ?? []) {
        const launch = network.labels[LAUNCH_LABEL];
        if (network.machines > 0 || (launch !== undefined && liveLaunches.has(launch))) continue;
        if ((await removeOwnedNetwork(engine, network.id, { anyBottle: true })) === 'removed') networks.push(network.name);
      }
    } finally {
      await backend.close();
    }
  }
  const files = args.orphans && args.agent === undefined ? await pruneFiles(registry) : [];
  io.data({
    droppedRecords: dropped,
    removedMachines: removed,
    removedNetworks: networks,
    removedRouteLeftovers: leftovers,
    removedForkBases: bases,
    removedFiles: files,
  });
  io.result(
    [
      dropped.length ? `dropped bottles whose machine is gone or whose launch was killed: ${dropped.join(', ')}` : 'no stale records',
      args.orphans
        ? removed.length
          ? `removed orphaned bottles and unrecorded machines: ${removed.join(', ')}`
          : 'no orphaned or unrecorded machines'
        : 'orphaned bottles and unrecorded machines are kept (use --orphans to remove them)',
      ...(networks.length ? [`removed networks: ${networks.join(', ')}`] : []),
      ...(leftovers.length ? [`removed route leftovers: ${leftovers.join(', ')}`] : []),
      ...(bases.length ? [`removed fork bases no bottle uses: ${bases.join(', ')}`] : []),
      ...(files.length ? [`removed host files: ${files.join(', ')}`] : []),
    ].join('\n'),
  );
  return EXIT.ok;
}

/** Run dirs and launcher sockets that no record owns any more (a launcher killed before it recorded). */
async function pruneFiles(registry: BottleRegistry): Promise<string[]> {
  const records = await registry.list();
  const names = new Set(records.map((r) => r.name));
  const sockets = new Set(records.flatMap((r) => (r.launcher?.socket ? [r.launcher.socket] : [])));
  const removed: string[] = [];
  for (const name of await registry.runDirs()) {
    if (names.has(name)) continue;
    await rm(registry.runDir(name), { recursive: true, force: true });
    removed.push(registry.runDir(name));
  }
  const runDir = join(registry.root, 'run');
  for (const file of await readdir(runDir).catch(() => [] as string[])) {
    const path = join(runDir, file);
    // A launch that has not recorded its intent yet is alive: its socket answers.
    if (!file.endsWith('.sock') || sockets.has(path) || (await launcherAlive({ pid: 0, socket: path }))) continue;
    await rm(path, { force: true });
    removed.push(path);
  }
  return removed;
}
