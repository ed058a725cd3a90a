import { createHash } from 'node:crypto';
import type { TarEntry } from '../archive/tar.ts';
import { MAX_PROMPT_BYTES } from '../agent/limits.ts';
import type { Engine } from '../engine/types.ts';
import { HostReadError, nodeHostFs, readBoundedFile } from '../host/fs.ts';
import type { Plan } from '../plan/plan.ts';
import { ProvisionError } from './error.ts';

/**
 * The prompt file prepare wrote, read bounded (no symlink followed) and checked against the
 * plan's sha256: what reaches the guest is what prepare wrote, or nothing.
 */
export async function readPrompt(plan: Plan): Promise<Uint8Array> {
  let data: Uint8Array;
  try {
    data = (await readBoundedFile(nodeHostFs, plan.prompt.hostPath, { maxBytes: MAX_PROMPT_BYTES, noFollow: true })).data;
  } catch (error) {
    if (!(error instanceof HostReadError)) throw error;
    throw new ProvisionError(`prompt: ${plan.prompt.hostPath} ${error.problem}`);
  }
  if (createHash('sha256').update(data).digest('hex') !== plan.prompt.sha256) {
    throw new ProvisionError(`prompt: ${plan.prompt.hostPath} is not the prompt prepare wrote (its sha256 differs); prepare again`);
  }
  return data;
}

/**
 * Always uploads the prompt file (0600, owned by the guest user). Returns its guest path only
 * when the prompt is non-empty: that return value alone decides `--append-system-prompt-file`.
 * The engine reads prepare's own file in the private (0700) state dir, never a user's path.
 */
export async function provisionPrompt(engine: Engine, machine: string, plan: Plan): Promise<string | undefined> {
  const { user } = plan.agent;
  await engine.upload(machine, plan.prompt.hostPath, plan.prompt.guestPath, { mode: 0o600, uid: user.uid, gid: user.gid });
  return plan.prompt.empty ? undefined : plan.prompt.guestPath;
}

/** The prompt as an archive entry rooted at `/`, for engines that take a whole tree in one call. */
export function promptEntry(plan: Plan, data: Uint8Array): TarEntry {
  const { uid, gid } = plan.agent.user;
  return { path: plan.prompt.guestPath.slice(1), type: 'file', mode: 0o600, uid, gid, data };
}
