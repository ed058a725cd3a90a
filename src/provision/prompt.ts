import { readFile } from 'node:fs/promises';
import type { TarEntry } from '../archive/tar.ts';
import type { Engine } from '../engine/types.ts';
import type { Plan } from '../plan/plan.ts';

/**
 * Always uploads the prompt file (0600, owned by the guest user). Returns its guest path only
 * when the prompt is non-empty: that return value alone decides `--append-system-prompt-file`.
 */
export async function provisionPrompt(engine: Engine, machine: string, plan: Plan): Promise<string | undefined> {
  const { user } = plan.agent;
  await engine.upload(machine, plan.prompt.hostPath, plan.prompt.guestPath, { mode: 0o600, uid: user.uid, gid: user.gid });
  return plan.prompt.empty ? undefined : plan.prompt.guestPath;
}

/** The prompt as an archive entry rooted at `/`, for engines that take a whole tree in one call. */
export async function promptEntry(plan: Plan): Promise<TarEntry> {
  const { uid, gid } = plan.agent.user;
  return { path: plan.prompt.guestPath.slice(1), type: 'file', mode: 0o600, uid, gid, data: await readFile(plan.prompt.hostPath) };
}
