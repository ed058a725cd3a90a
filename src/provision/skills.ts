import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { packTar, type TarEntry } from '../archive/tar.ts';
import { ProvisionError } from './error.ts';
import type { Engine } from '../engine/types.ts';
import type { Plan } from '../plan/plan.ts';

/** The skills' side of `provisionFiles` (./files.ts): the archive and per-file transfers, and the tree's entries. */
const TAR_NOT_FOUND = 127;
/** Provisioning sets owners, so it runs as root wherever the engine lets it choose. */
const AS_ROOT = { user: { uid: 0, gid: 0 } } as const;

/** One tar of the skills, uploaded and unpacked by one exec; false when the guest has no `tar`. */
export async function skillsViaArchive(engine: Engine, machine: string, plan: Plan): Promise<boolean> {
  const { uid, gid } = plan.agent.user;
  const owner = `${uid}:${gid}`;
  const dest = plan.skills.guestDir;
  const hostArchive = join(plan.stateDir, `skills-${randomBytes(6).toString('hex')}.tar`);
  const guestArchive = `/tmp/claude-bottle-skills-${randomBytes(6).toString('hex')}.tar`;
  await writeFile(hostArchive, await buildArchive(plan), { mode: 0o600 });
  try {
    await engine.upload(machine, hostArchive, guestArchive, { mode: 0o600, uid: 0, gid: 0 });
  } finally {
    await rm(hostArchive, { force: true });
  }
  const owned = ownedDirs(plan);
  const chownArgs = owned.map((_, i) => `"$${i + 4}"`).join(' ');
  const script = `mkdir -p "$1" && chown "$2" ${chownArgs} && tar -x -f "$3" -C "$1" && rm -f "$3"`;
  const result = await engine.exec(machine, ['sh', '-c', script, 'sh', dest, owner, guestArchive, ...owned], AS_ROOT);
  if (result.exitCode === 0) return true;
  await engine.exec(machine, ['rm', '-f', guestArchive], AS_ROOT);
  if (result.exitCode === TAR_NOT_FOUND && /tar/.test(result.stderr)) return false;
  throw new ProvisionError(`skills: unpacking the archive into ${dest} failed`, result);
}

/** One upload per file, for guests without `tar`. */
export async function skillsPerFile(engine: Engine, machine: string, plan: Plan): Promise<void> {
  const { uid, gid } = plan.agent.user;
  const dest = plan.skills.guestDir;
  const dirs = plan.skills.items.flatMap((skill) => [
    { path: posix.join(dest, skill.name), mode: skill.mode },
    ...skill.dirs.map((d) => ({ path: posix.join(dest, skill.name, d.path), mode: d.mode })),
  ]);
  const owned = ownedDirs(plan);
  await check(engine, machine, ['mkdir', '-p', dest, ...dirs.map((d) => d.path)], 'creating skill directories');
  await check(engine, machine, ['chown', `${uid}:${gid}`, ...owned, ...dirs.map((d) => d.path)], 'owning skill directories');
  const byMode = Map.groupBy(dirs, (d) => d.mode & 0o7777);
  for (const [mode, group] of byMode) {
    await check(engine, machine, ['chmod', mode.toString(8), ...group.map((d) => d.path)], 'setting skill directory modes');
  }
  for (const skill of plan.skills.items) {
    for (const file of skill.files) {
      await engine.upload(machine, join(skill.hostDir, ...file.path.split('/')), posix.join(dest, skill.name, file.path), {
        mode: file.mode & 0o7777,
        uid,
        gid,
      });
    }
  }
}

async function check(engine: Engine, machine: string, argv: string[], what: string): Promise<void> {
  const result = await engine.exec(machine, argv, AS_ROOT);
  if (result.exitCode !== 0) throw new ProvisionError(`skills: ${what} failed`, result);
}

/** The skills dir and, when it lies under the user's home, each dir between (e.g. `~/.claude`). */
export function ownedDirs(plan: Plan): string[] {
  const home = plan.agent.user.home.replace(/\/+$/, '');
  const dest = plan.skills.guestDir;
  if (!dest.startsWith(`${home}/`)) return [dest];
  const parts = dest.slice(home.length + 1).split('/');
  return parts.map((_, i) => posix.join(home, ...parts.slice(0, i + 1)));
}

/**
 * Paths relative to the skills dir, or (`rooted`) to `/` with entries for the owned dirs too —
 * those get 0755, which is what `mkdir -p` gives them on the other transfers.
 */
async function buildArchive(plan: Plan, options: { rooted?: boolean } = {}): Promise<Uint8Array> {
  return packTar(await skillEntries(plan, options));
}

export async function skillEntries(plan: Plan, options: { rooted?: boolean } = {}): Promise<TarEntry[]> {
  const { uid, gid } = plan.agent.user;
  const entries: TarEntry[] = [];
  if (plan.skills.items.length === 0) return entries;
  const prefix = options.rooted ? `${plan.skills.guestDir.slice(1)}/` : '';
  if (options.rooted) {
    for (const dir of ownedDirs(plan)) entries.push({ path: dir.slice(1), type: 'directory', mode: 0o755, uid, gid });
  }
  for (const skill of plan.skills.items) {
    entries.push({ path: `${prefix}${skill.name}`, type: 'directory', mode: skill.mode & 0o7777, uid, gid });
    for (const dir of skill.dirs) {
      entries.push({ path: `${prefix}${skill.name}/${dir.path}`, type: 'directory', mode: dir.mode & 0o7777, uid, gid });
    }
    for (const file of skill.files) {
      const data = await readFile(join(skill.hostDir, ...file.path.split('/')));
      entries.push({ path: `${prefix}${skill.name}/${file.path}`, type: 'file', mode: file.mode & 0o7777, uid, gid, data });
    }
  }
  return entries;
}
