/**
 * The one entry point for a bottle's files (the prompt and the skills). The way they travel is
 * chosen here, once, from what the engine declares:
 * - `tree`: one archive the engine extracts itself (`capabilities.treeUpload`): one call;
 * - `archive`: the prompt, then one tar of the skills uploaded and unpacked by one exec;
 * - `per-file`: one upload per file, for guests without `tar`.
 * `auto` is `tree` where the engine can, else `archive`, falling back to `per-file` when the guest
 * has no `tar`. All give the same guest tree: paths, modes (sticky kept, setuid/setgid never)
 * and owners. The prompt and every skill file are read and checked first: a file swapped since
 * prepare fails the launch before the first upload, so nothing reaches the guest; and only the
 * checked bytes travel (the engine is never handed a host path it would read again).
 */
import { packTar } from '../archive/tar.ts';
import type { Engine } from '../engine/types.ts';
import type { Plan } from '../plan/plan.ts';
import { ProvisionError } from './error.ts';
import { promptEntry, provisionPrompt, readPrompt } from './prompt.ts';
import { readSkillFiles, skillEntries, skillsPerFile, skillsViaArchive } from './skills.ts';

export type FileTransfer = 'tree' | 'archive' | 'per-file' | 'auto';

export interface ProvisionedFiles {
  /** The prompt's guest path, only when the prompt is non-empty (it alone decides `--append-system-prompt-file`). */
  readonly promptPath: string | undefined;
  /** The guest skills dir, only when the agent has skills. */
  readonly skillsDir: string | undefined;
}

export async function provisionFiles(engine: Engine, machine: string, plan: Plan, transfer: FileTransfer = 'auto'): Promise<ProvisionedFiles> {
  const result: ProvisionedFiles = {
    promptPath: plan.prompt.empty ? undefined : plan.prompt.guestPath,
    skillsDir: plan.skills.items.length ? plan.skills.guestDir : undefined,
  };
  const way = transfer === 'auto' ? (engine.capabilities.treeUpload ? 'tree' : 'archive') : transfer;
  if (way === 'tree' && (!engine.capabilities.treeUpload || !engine.uploadTree)) {
    throw new ProvisionError(`files: the ${engine.kind} engine cannot extract an archive itself (no treeUpload); use another transfer`);
  }
  // Everything read and checked before the first upload (the prompt too: a missing or altered
  // prompt file fails here, not after the skills are in).
  const prompt = await readPrompt(plan);
  const skills = await readSkillFiles(plan);
  if (way === 'tree') {
    await engine.uploadTree?.(machine, packTar([promptEntry(plan, prompt), ...skillEntries(plan, skills, { rooted: true })]));
    return result;
  }
  await provisionPrompt(engine, machine, plan, prompt);
  if (plan.skills.items.length === 0) return result;
  if (way === 'per-file') {
    await skillsPerFile(engine, machine, plan, skills);
  } else if (!(await skillsViaArchive(engine, machine, plan, skills))) {
    if (transfer === 'archive') throw new ProvisionError('skills: the guest has no tar; use the per-file transfer');
    await skillsPerFile(engine, machine, plan, skills);
  }
  return result;
}
