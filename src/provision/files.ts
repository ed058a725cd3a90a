import { packTar } from '../archive/tar.ts';
import type { Engine } from '../engine/types.ts';
import type { Plan } from '../plan/plan.ts';
import { promptEntry } from './prompt.ts';
import { skillEntries } from './skills.ts';

/**
 * For engines with `uploadTree`: the prompt and every skill in one archive, one engine call,
 * with the same paths, modes and owners as `provisionPrompt` + `provisionSkills` give, and the
 * same return contract (prompt path only when non-empty; skills dir only when there are skills).
 */
export async function provisionFilesAsTree(
  engine: Engine & Required<Pick<Engine, 'uploadTree'>>,
  machine: string,
  plan: Plan,
): Promise<{ promptPath: string | undefined; skillsDir: string | undefined }> {
  await engine.uploadTree(machine, packTar([await promptEntry(plan), ...(await skillEntries(plan, { rooted: true }))]));
  return {
    promptPath: plan.prompt.empty ? undefined : plan.prompt.guestPath,
    skillsDir: plan.skills.items.length ? plan.skills.guestDir : undefined,
  };
}
