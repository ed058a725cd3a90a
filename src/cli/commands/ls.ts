import type { BottleRecord } from '../../bottle/bottle.ts';
import { launcherAlive } from '../../bottle/launcher.ts';
import { BottleRegistry } from '../../bottle/registry.ts';
import { isOwnedBy, ownerOf } from '../../engine/ownership.ts';
import { BOTTLE_LABEL, type MachineInfo } from '../../engine/types.ts';
import { stateRoot } from '../../host/state.ts';
import { type BackendKind, openBackend } from '../backends.ts';
import { EXIT, type Io } from '../io.ts';

/**
 * A bottle's state: the engine's state of its machine, except
 * - `launching` / `crashed`: its launch has not finished, and its launcher runs / is gone;
 * - `orphaned`: its daemons lived in a launcher that is gone, so the guest can reach none of them;
 * - `missing`: no machine carrying its launch label exists.
 */
export async function bottleState(record: BottleRecord, machine: MachineInfo | undefined): Promise<string> {
  if (record.status === 'launching') return record.launcher && (await launcherAlive(record.launcher)) ? 'launching' : 'crashed';
  const ours = machine && isOwnedBy(ownerOf(record), machine.labels);
  if (!ours) return 'missing';
  if (record.launcher && !(await launcherAlive(record.launcher))) return 'orphaned';
  return machine.state;
}

export async function lsCommand(io: Io): Promise<number> {
  const records = await new BottleRegistry(stateRoot(io.env)).list();
  const rows: { name: string; backend: string; agent: string; state: string; daemons: string; forkOf: string | null; createdAt: string }[] = [];
  for (const [kind, group] of Map.groupBy(records, (r) => r.backend)) {
    let machines: Map<string, MachineInfo> | undefined;
    try {
      const backend = await openBackend(kind as BackendKind, io);
      try {
        machines = new Map((await backend.engine.list({ [BOTTLE_LABEL]: '1' })).map((m) => [m.name, m]));
      } finally {
        await backend.close();
      }
    } catch (error) {
      io.notice(`cannot reach the ${kind} backend: ${(error as Error).message.split('\n')[0]}`);
    }
    for (const r of group) {
      const state = machines ? await bottleState(r, machines.get(r.name)) : 'unknown';
      rows.push({ name: r.name, backend: r.backend, agent: r.agent, state, daemons: r.daemons ?? '', forkOf: r.forkOf?.name ?? null, createdAt: r.createdAt });
    }
  }
  io.data(rows);
  if (rows.length === 0) io.result('no bottles');
  else {
    const cells = (r: (typeof rows)[number]) => [r.name, r.backend, r.agent, r.state, r.daemons || '-', r.forkOf ?? '-', r.createdAt];
    const header = ['NAME', 'BACKEND', 'AGENT', 'STATE', 'DAEMONS', 'FORK OF', 'CREATED'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (cells(r)[i] ?? '').length)));
    const line = (c: string[]) =>
      c
        .map((v, i) => v.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd();
    io.result([line(header), ...rows.map((r) => line(cells(r)))].join('\n'));
  }
  return EXIT.ok;
}
