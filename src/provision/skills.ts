/**
 * The skills' side of `provisionFiles` (./files.ts): reading every skill file through a checked
 * handle (`readSkillFiles`), then the archive and per-file transfers and the tree's entries,
 * which use only those bytes, never the user's paths again.
 */
import { randomBytes } from 'node:crypto';
import { join, posix } from 'node:path';
import { packTar, type TarEntry } from '../archive/tar.ts';
import { HostReadError, type HostStats, nodeHostFs, readBoundedFile, withPrivateTempFile } from '../host/fs.ts';
import { ProvisionError } from './error.ts';
import type { Engine } from '../engine/types.ts';
import { type Plan, PLANNED_MODE_MASK, type PlannedSkill } from '../plan/plan.ts';

const TAR_NOT_FOUND = 127;
/** Provisioning sets owners, so it runs as root wherever the engine lets it choose. */
const AS_ROOT = { user: { uid: 0, gid: 0 } } as const;

/** Every skill file's bytes, keyed by skill name then relative path, read before any upload. */
export type SkillFiles = ReadonlyMap<string, ReadonlyMap<string, Uint8Array>>;

/**
 * Reads every planned skill file, and fails before anything is uploaded if one is not the file
 * prepare saw. Each is opened with O_NOFOLLOW (a symlink swapped in is refused), `fstat`ed on
 * the handle and compared with the plan: a regular file with the same device and inode, and
 * the same size (a changed size means the skill changed since prepare: prepare again). Only
 * then is it read, from that handle, no more than its planned size. O_NOFOLLOW covers the last
 * component only; a parent directory swapped for a symlink leads to another file, whose
 * device and inode differ, so the identity check catches that too.
 */
export async function readSkillFiles(plan: Plan): Promise<SkillFiles> {
  const skills = new Map<string, Map<string, Uint8Array>>();
  for (const skill of plan.skills.items) {
    const files = new Map<string, Uint8Array>();
    for (const file of skill.files) files.set(file.path, await readSkillFile(skill, file));
    skills.set(skill.name, files);
  }
  return skills;
}

async function readSkillFile(skill: PlannedSkill, file: PlannedSkill['files'][number]): Promise<Uint8Array> {
  const hostPath = join(skill.hostDir, ...file.path.split('/'));
  const check = (stats: HostStats): string | undefined => {
    if (String(stats.dev) !== file.dev || String(stats.ino) !== file.ino) {
      return `is not the file prepare saw (device:inode ${stats.dev}:${stats.ino}, planned ${file.dev}:${file.ino})`;
    }
    if (BigInt(stats.size) !== BigInt(file.size)) return `is ${stats.size} bytes, prepare saw ${file.size}`;
    return undefined;
  };
  try {
    return (await readBoundedFile(nodeHostFs, hostPath, { maxBytes: file.size, noFollow: true, check })).data;
  } catch (error) {
    if (!(error instanceof HostReadError)) throw error;
    throw new ProvisionError(
      `skills: skill "${skill.name}": ${hostPath} changed since prepare: it ${error.problem}; nothing was uploaded (prepare again if the change is yours)`,
    );
  }
}

/** One tar of the skills, uploaded and unpacked by one exec; false when the guest has no `tar`. */
export async function skillsViaArchive(engine: Engine, machine: string, plan: Plan, data: SkillFiles): Promise<boolean> {
  const { uid, gid } = plan.agent.user;
  const dest = plan.skills.guestDir;
  const archive = `skills-${randomBytes(6).toString('hex')}.tar`;
  const guestArchive = `/tmp/claude-bottle-${archive}`;
  await withPrivateTempFile(
    packTar(skillEntries(plan, data)),
    (hostArchive) => engine.upload(machine, hostArchive, guestArchive, { mode: 0o600, uid: 0, gid: 0 }),
    archive,
  );
  const owned = ownedDirs(plan);
  // `$4…` are the owned dirs; without any, nothing but the skill dirs in the archive is touched.
  const chown = owned.length > 0 ? ` && chown "$2" ${owned.map((_, i) => `"$${i + 4}"`).join(' ')}` : '';
  const script = `mkdir -p "$1"${chown} && tar -x -f "$3" -C "$1" && rm -f "$3"`;
  const result = await engine.exec(machine, ['sh', '-c', script, 'sh', dest, `${uid}:${gid}`, guestArchive, ...owned], AS_ROOT);
  if (result.exitCode === 0) return true;
  await engine.exec(machine, ['rm', '-f', guestArchive], AS_ROOT);
  if (result.exitCode === TAR_NOT_FOUND && /tar/.test(result.stderr)) return false;
  throw new ProvisionError(`skills: unpacking the archive into ${dest} failed`, result);
}

/** One upload per file, for guests without `tar`; each from a private copy of the checked bytes. */
export async function skillsPerFile(engine: Engine, machine: string, plan: Plan, data: SkillFiles): Promise<void> {
  const { uid, gid } = plan.agent.user;
  const dest = plan.skills.guestDir;
  const dirs = plan.skills.items.flatMap((skill) => [
    { path: posix.join(dest, skill.name), mode: skill.mode },
    ...skill.dirs.map((d) => ({ path: posix.join(dest, skill.name, d.path), mode: d.mode })),
  ]);
  await check(engine, machine, ['mkdir', '-p', dest, ...dirs.map((d) => d.path)], 'creating skill directories');
  await check(engine, machine, ['chown', `${uid}:${gid}`, ...ownedDirs(plan), ...dirs.map((d) => d.path)], 'owning skill directories');
  const byMode = Map.groupBy(dirs, (d) => d.mode & PLANNED_MODE_MASK);
  for (const [mode, group] of byMode) {
    await check(engine, machine, ['chmod', mode.toString(8), ...group.map((d) => d.path)], 'setting skill directory modes');
  }
  for (const skill of plan.skills.items) {
    for (const file of skill.files) {
      await withPrivateTempFile(bytesOf(data, skill.name, file.path), (copy) =>
        engine.upload(machine, copy, posix.join(dest, skill.name, file.path), { mode: file.mode & PLANNED_MODE_MASK, uid, gid }),
      );
    }
  }
}

async function check(engine: Engine, machine: string, argv: string[], what: string): Promise<void> {
  const result = await engine.exec(machine, argv, AS_ROOT);
  if (result.exitCode !== 0) throw new ProvisionError(`skills: ${what} failed`, result);
}

/**
 * Besides the skill dirs themselves, the only dirs whose owner (and, in the tree, mode)
 * provisioning sets: those between the user's home and the skills dir, when the skills dir lies
 * strictly under the home (e.g. `~/.claude`, `~/.claude/skills`), so Claude Code can add its
 * own. A skills dir anywhere else (e.g. `/opt/x`) is created if missing (root, 0755), and an
 * existing one, or any of its parents, is never chowned or chmodded.
 */
export function ownedDirs(plan: Plan): string[] {
  const home = plan.agent.user.home.replace(/\/+$/, '');
  const dest = plan.skills.guestDir;
  if (home === '' || !dest.startsWith(`${home}/`)) return [];
  const parts = dest.slice(home.length + 1).split('/');
  return parts.map((_, i) => posix.join(home, ...parts.slice(0, i + 1)));
}

/**
 * Paths relative to the skills dir, or (`rooted`) to `/` with entries for the owned dirs too —
 * those get 0755, which is what `mkdir -p` gives them on the other transfers. No entry is ever
 * made for a dir outside the owned ones: extracting a dir entry resets an existing dir's owner
 * and mode, so the skills dir's parents (and the skills dir itself, outside the home) stay out.
 */
export function skillEntries(plan: Plan, data: SkillFiles, options: { rooted?: boolean } = {}): TarEntry[] {
  const { uid, gid } = plan.agent.user;
  const entries: TarEntry[] = [];
  if (plan.skills.items.length === 0) return entries;
  const prefix = options.rooted ? `${plan.skills.guestDir.slice(1)}/` : '';
  if (options.rooted) {
    for (const dir of ownedDirs(plan)) entries.push({ path: dir.slice(1), type: 'directory', mode: 0o755, uid, gid });
  }
  for (const skill of plan.skills.items) {
    entries.push({ path: `${prefix}${skill.name}`, type: 'directory', mode: skill.mode & PLANNED_MODE_MASK, uid, gid });
    for (const dir of skill.dirs) {
      entries.push({ path: `${prefix}${skill.name}/${dir.path}`, type: 'directory', mode: dir.mode & PLANNED_MODE_MASK, uid, gid });
    }
    for (const file of skill.files) {
      const bytes = bytesOf(data, skill.name, file.path);
      entries.push({ path: `${prefix}${skill.name}/${file.path}`, type: 'file', mode: file.mode & PLANNED_MODE_MASK, uid, gid, data: bytes });
    }
  }
  return entries;
}

function bytesOf(data: SkillFiles, skill: string, path: string): Uint8Array {
  const bytes = data.get(skill)?.get(path);
  if (!bytes) throw new ProvisionError(`skills: skill "${skill}": ${path} was not read before the transfer`);
  return bytes;
}
