import { rm } from 'node:fs/promises';
import { attach } from '../attach.ts';
import { EXIT, type Io } from '../io.ts';

export async function rmCommand(io: Io, args: { bottle: string | undefined }): Promise<number> {
  const { bottle, backend, registry, record } = await attach(io, args.bottle);
  try {
    await bottle.remove();
  } finally {
    await backend.close();
  }
  await registry.delete(record.name);
  // The plan file holds the agent's env values; it goes with the bottle.
  if (record.planPath) await rm(record.planPath, { force: true });
  io.data({ name: record.name, removed: true });
  io.result(`removed ${record.name}`);
  return EXIT.ok;
}
