import { stateRoot } from '../../host/state.ts';
import { BottleRegistry } from '../../bottle/registry.ts';
import { type BackendKind, openBackend } from '../backends.ts';
import { EXIT, type Io } from '../io.ts';

export async function lsCommand(io: Io): Promise<number> {
  const records = await new BottleRegistry(stateRoot(io.env)).list();
  const rows: { name: string; backend: string; agent: string; state: string; createdAt: string }[] = [];
  const byBackend = Map.groupBy(records, (r) => r.backend);
  for (const [kind, group] of byBackend) {
    let states: Map<string, string>;
    try {
      const backend = await openBackend(kind as BackendKind, io);
      try {
        const machines = await backend.engine.list({ 'claude-bottle': '1' });
        states = new Map(machines.map((m) => [m.name, m.state]));
      } finally {
        await backend.close();
      }
    } catch (error) {
      io.notice(`cannot reach the ${kind} backend: ${(error as Error).message.split('\n')[0]}`);
      states = new Map();
    }
    for (const r of group) {
      rows.push({ name: r.name, backend: r.backend, agent: r.agent, state: states.get(r.name) ?? 'missing', createdAt: r.createdAt });
    }
  }
  io.data(rows);
  if (rows.length === 0) io.result('no bottles');
  else {
    const widths = [4, 7, 5, 5].map((w, i) => Math.max(w, ...rows.map((r) => [r.name, r.backend, r.agent, r.state][i]!.length)));
    const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
    io.result([line(['NAME', 'BACKEND', 'AGENT', 'STATE', 'CREATED']), ...rows.map((r) => line([r.name, r.backend, r.agent, r.state, r.createdAt]))].join('\n'));
  }
  return EXIT.ok;
}
