import { askLauncherToStop, launcherAlive } from '../../bottle/launcher.ts';
import { teardownRecorded } from '../../bottle/teardown.ts';
import { findRecord } from '../attach.ts';
import { type BackendKind, openBackend } from '../backends.ts';
import { EXIT, type Io } from '../io.ts';

/**
 * Removes a recorded bottle: a foreground launch still serving its daemons is asked to take it
 * down itself; then whatever remains (the machine, the launch's networks, its host files and
 * record) goes, each machine and network only after its launch label is read back.
 */
export async function rmCommand(io: Io, args: { bottle: string | undefined }): Promise<number> {
  const { record, registry } = await findRecord(io, args.bottle);
  // Before the backend is opened: the embedded fake's state lock would keep the launcher from removing the bottle.
  if (record.launcher && (await launcherAlive(record.launcher))) {
    io.progress(`asking the launcher (pid ${record.launcher.pid}) to stop ${record.name}…`);
    if (!(await askLauncherToStop(record.launcher))) io.notice(`the launcher of ${record.name} did not stop in time; removing the bottle anyway`);
  }
  const backend = await openBackend(record.backend as BackendKind, io);
  try {
    const done = await teardownRecorded(backend.engine, registry, record);
    if (done.machine === 'foreign') io.notice(`a machine named ${record.name} exists but is not this bottle (its launch label differs): left untouched`);
    io.data({ name: record.name, removed: true, machine: done.machine, networks: done.networks });
    io.result(`removed ${record.name}${done.networks.length ? ` and network ${done.networks.join(', ')}` : ''}`);
    return EXIT.ok;
  } finally {
    await backend.close();
  }
}
