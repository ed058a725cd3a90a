/**
 * git on the host for tests: one environment (no inherited GIT_*, no user config, a fixed
 * identity), runs that return or throw, a host repository with one commit, and a pack bomb.
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { deflateSync } from 'node:zlib';
import { hostGitEnv } from '../daemons/gitgate/repo.ts';

const execFileAsync = promisify(execFile);

export interface GitEnvOptions {
  /** The bottle's credential, sent on every HTTP request as the guest's git config sends it. */
  readonly token?: string;
  /** Author and committer name (`<name>@example.invalid`); default `tester`. */
  readonly name?: string;
}

/**
 * An environment for git in tests: the inherited GIT_* variables dropped (a GIT_DIR or
 * GIT_INDEX_FILE from a hook running the tests would redirect it), no user or system config, no
 * prompt, and a fixed identity.
 */
export function gitEnv(options: GitEnvOptions = {}): Record<string, string> {
  const name = options.name ?? 'tester';
  return {
    ...hostGitEnv(),
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: name,
    GIT_AUTHOR_EMAIL: `${name}@example.invalid`,
    GIT_COMMITTER_NAME: name,
    GIT_COMMITTER_EMAIL: `${name}@example.invalid`,
    // In the environment, not argv: the credential stays out of `ps`.
    ...(options.token === undefined
      ? {}
      : { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'http.extraHeader', GIT_CONFIG_VALUE_0: `Authorization: Bearer ${options.token}` }),
  };
}

export interface GitResult {
  /** git's exit code; -1 when it did not run or died by a signal. */
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface GitRunOptions {
  /** Default `gitEnv()`. */
  readonly env?: Record<string, string>;
  /** Written to git's stdin. */
  readonly input?: string;
}

/** Runs git in `cwd`; its failure is in the result, never thrown. */
export async function git(cwd: string, args: readonly string[], options: GitRunOptions = {}): Promise<GitResult> {
  try {
    const running = execFileAsync('git', [...args], { cwd, env: options.env ?? gitEnv(), maxBuffer: 64 * 1024 * 1024 });
    if (options.input !== undefined) running.child.stdin?.end(options.input);
    const { stdout, stderr } = await running;
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: unknown; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(error) };
  }
}

/** git's stdout (untrimmed); throws with its stderr when it fails. */
export async function gitOk(cwd: string, args: readonly string[], options: GitRunOptions = {}): Promise<string> {
  const result = await git(cwd, args, options);
  if (result.code !== 0) throw new Error(`git ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
  return result.stdout;
}

/** git on the host, as `host`, with `gitEnv`: its stdout trimmed; throws when it fails. */
export async function hostGit(cwd: string, ...args: string[]): Promise<string> {
  return (await gitOk(cwd, args, { env: gitEnv({ name: 'host' }) })).trim();
}

/**
 * A git pack of one blob of `size` zero bytes, deflated without compression (stored blocks): a
 * valid pack that git reads object by object, megabytes that gzip to kilobytes. Truncated (no
 * trailing checksum): for a push that must be cut before its end.
 */
export function zeroBlobPack(size: number): Buffer {
  const header = Buffer.alloc(12);
  header.write('PACK', 0, 'latin1');
  header.writeUInt32BE(2, 4);
  header.writeUInt32BE(1, 8);
  // The object header: type 3 (blob) and the low 4 bits of the size, then 7 bits a byte; a high bit says more follow.
  let rest = Math.floor(size / 16);
  const object = [(rest > 0 ? 0x80 : 0) | (3 << 4) | (size & 0x0f)];
  for (; rest > 0; rest = Math.floor(rest / 128)) object.push((rest >= 128 ? 0x80 : 0) | (rest & 0x7f));
  return Buffer.concat([header, Buffer.from(object), deflateSync(Buffer.alloc(size), { level: 0 })]);
}

/**
 * A git repository at `dir` (made if missing) with `files` in one commit on `main`, made as
 * `host`: what a bottle's `git.repo` points at. Returns the commit's id.
 */
export async function hostRepo(dir: string, files: Readonly<Record<string, string | Uint8Array>> = { 'README.md': 'hello\n' }): Promise<string> {
  await mkdir(dir, { recursive: true });
  await hostGit(dir, 'init', '-q', '-b', 'main');
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
  await hostGit(dir, 'add', '.');
  await hostGit(dir, 'commit', '-q', '-m', 'host commit');
  return hostGit(dir, 'rev-parse', 'HEAD');
}
