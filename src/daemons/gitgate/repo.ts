/** Host-side git helpers shared by `prepare` (checking the plan) and the gate (serving it). */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** The host's environment without GIT_* variables that would redirect git (GIT_DIR, GIT_INDEX_FILE, …). */
export function hostGitEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && !key.startsWith('GIT_')) env[key] = value;
  return env;
}

/**
 * The repository's common git dir (absolute): where its refs live, for a work tree, a bare
 * repository or a linked worktree alike. Throws with git's own last line when `repo` is none.
 */
export async function gitCommonDir(repo: string, git = 'git'): Promise<string> {
  try {
    const { stdout } = await execFileAsync(git, ['-C', repo, 'rev-parse', '--path-format=absolute', '--git-common-dir'], { env: hostGitEnv() });
    const dir = stdout.trim();
    if (!dir) throw new Error('git rev-parse printed no git dir');
    return dir;
  } catch (error) {
    const e = error as { code?: unknown; stderr?: unknown; message?: unknown };
    if (e.code === 'ENOENT') throw new Error(`cannot run ${git} (not found on PATH)`);
    const why = (typeof e.stderr === 'string' && e.stderr.trim() ? e.stderr : String(e.message ?? error)).trim().split('\n').filter(Boolean).at(-1);
    throw new Error(why ?? 'git rev-parse failed');
  }
}

/** True when `refs/heads/<branch>` is a valid ref name (`git check-ref-format`). */
export async function isValidBranchName(branch: string, git = 'git'): Promise<boolean> {
  try {
    await execFileAsync(git, ['check-ref-format', `refs/heads/${branch}`], { env: hostGitEnv() });
    return true;
  } catch {
    return false;
  }
}
