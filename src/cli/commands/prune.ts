import { rm } from 'node:fs/promises';
import { stateRoot } from '../../host/state.ts';
import { BottleRegistry } from '../../bottle/registry.ts';
import { BOTTLE_LABEL } from '../../engine/types.ts';
import { type BackendChoice, type BackendKind, openBackend, probeDocker, probeSmolvm } from '../backends.ts';
import { EXIT, type Io } from '../io.ts';
import { createExecaTransport } from '../../transport/execa.ts';

/**
 * Finds what claude-bottle left behind by its label and registry: records whose machine is gone
 * are dropped; with `orphans`, labelled machines no record knows (an SDK process's, or a crashed
 * one's) are removed too — which is why that part is opt-in.
 */
export async function pruneCommand(io: Io, args: { backend: BackendChoice; orphans: boolean }): Promise<number> {
  const registry = new BottleRegistry(stateRoot(io.env));
  const records = await registry.list();
  const kinds = new Set<BackendKind>(args.backend !== 'auto' ? [args.backend] : ['fake', ...records.map((r) => r.backend as BackendKind)]);
  if (args.backend === 'auto') {
    const transport = createExecaTransport({ env: io.env });
    const [smolvm, docker] = await Promise.all([probeSmolvm(transport), probeDocker(transport)]);
    if (smolvm.installed && smolvm.missing.length === 0) kinds.add('smolvm');
    if (docker.answers) kinds.add('docker');
  }
  const dropped: string[] = [];
  const removed: string[] = [];
  for (const kind of kinds) {
    const backend = await openBackend(kind, io);
    try {
      const machines = new Set((await backend.engine.list({ [BOTTLE_LABEL]: '1' })).map((m) => m.name));
      const known = records.filter((r) => r.backend === kind);
      for (const record of known) {
        if (machines.has(record.name)) continue;
        await registry.delete(record.name);
        if (record.planPath) await rm(record.planPath, { force: true });
        dropped.push(record.name);
      }
      if (args.orphans) {
        const recorded = new Set(known.map((r) => r.name));
        for (const name of machines) {
          if (recorded.has(name)) continue;
          await backend.engine.remove(name);
          removed.push(`${name} (${kind})`);
        }
      }
    } finally {
      await backend.close();
    }
  }
  io.data({ droppedRecords: dropped, removedMachines: removed });
  io.result(
    [
      dropped.length ? `dropped records of missing bottles: ${dropped.join(', ')}` : 'no stale records',
      args.orphans ? (removed.length ? `removed unrecorded machines: ${removed.join(', ')}` : 'no unrecorded machines') : 'unrecorded machines are kept (use --orphans to remove them)',
    ].join('\n'),
  );
  return EXIT.ok;
}
