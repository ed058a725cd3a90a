import type { TarEntry } from '../archive/tar.ts';
import { MAX_PROMPT_BYTES } from '../agent/limits.ts';
import type { Engine } from '../engine/types.ts';
import type { Plan } from '../plan/plan.ts';
import { readPlannedFile, uploadBytes } from './planned-file.ts';

/**
 * The prompt file prepare wrote, read bounded (no symlink followed) and checked against the
 * plan's sha256: what reaches the guest is these bytes, or nothing.
 */
export function readPrompt(plan: Plan): Promise<Uint8Array> {
  return readPlannedFile('prompt', 'the prompt', plan.prompt, MAX_PROMPT_BYTES);
}

/**
 * Always uploads the prompt (0600, owned by the guest user). Returns its guest path only when
 * the prompt is non-empty: that return value alone decides `--append-system-prompt-file`.
 * `data` is what `readPrompt` checked; the engine gets a private copy of it, never the state
 * dir's path, which it would read again after the check.
 */
export async function provisionPrompt(engine: Engine, machine: string, plan: Plan, data: Uint8Array): Promise<string | undefined> {
  const { user } = plan.agent;
  await uploadBytes(engine, machine, data, plan.prompt.guestPath, { mode: 0o600, uid: user.uid, gid: user.gid }, 'prompt.txt');
  return plan.prompt.empty ? undefined : plan.prompt.guestPath;
}

/** The prompt as an archive entry rooted at `/`, for engines that take a whole tree in one call. */
export function promptEntry(plan: Plan, data: Uint8Array): TarEntry {
  const { uid, gid } = plan.agent.user;
  return { path: plan.prompt.guestPath.slice(1), type: 'file', mode: 0o600, uid, gid, data };
}
