/**
 * What the suites need from the test image and the host, checked once before any case runs, so
 * that a missing tool fails with one message naming it rather than as a dozen confusing cases.
 * Each check is a plain command (the fake smolvm's small `sh` runs them too).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Engine } from '../engine/types.ts';

const execFileAsync = promisify(execFile);

export interface ImageNeeds {
  /** Commands that must be on the image's PATH. */
  readonly tools: readonly string[];
  /** One of nc, curl, wget, bash or node: how a guest proves it reaches a host daemon. */
  readonly probeTool: boolean;
}

/** The tools every suite's guest commands use. */
export const BASE_TOOLS = ['sh', 'true', 'cat', 'stat', 'printf', 'id', 'ls', 'mkdir', 'chmod', 'chown'] as const;
const PROBE_TOOLS = ['nc', 'curl', 'wget', 'bash', 'node'];

/**
 * What `image` lacks, read from inside `machine` (created and started by the caller): root by
 * default, the tools, `stat -c`, the user `node` (uid and gid 1000) owning `/home/node`.
 */
export async function imageProblems(engine: Engine, machine: string, needs: ImageNeeds): Promise<string[]> {
  const problems: string[] = [];
  const run = async (argv: string[]): Promise<string> => {
    const result = await engine.exec(machine, argv);
    return result.exitCode === 0 ? result.stdout.trim() : `exit ${result.exitCode}: ${result.stderr.trim()}`;
  };
  const uid = await run(['id', '-u']);
  if (uid !== '0') problems.push(`runs commands as root by default (got uid ${uid})`);
  const names = [...new Set([...needs.tools, ...(needs.probeTool ? PROBE_TOOLS : [])])];
  const found = new Set(
    (await engine.exec(machine, ['sh', '-c', `${names.map((n) => `command -v ${n}`).join('; ')}; exit 0`])).stdout
      .split('\n')
      .map((line) => line.trim().split('/').at(-1) ?? '')
      .filter(Boolean),
  );
  const missing = needs.tools.filter((t) => !found.has(t));
  if (missing.length) problems.push(`has ${missing.join(', ')} on PATH`);
  if (needs.probeTool && !PROBE_TOOLS.some((t) => found.has(t))) problems.push(`has one of ${PROBE_TOOLS.join(', ')} (the guest's daemon probe)`);
  if (!/^\d+$/.test(await run(['stat', '-c', '%a', '/']))) problems.push('has a `stat` that takes -c FORMAT');
  const ids = `${await run(['id', '-u', 'node'])}:${await run(['id', '-g', 'node'])}`;
  if (ids !== '1000:1000') problems.push(`has a user node with uid and gid 1000 (got ${ids})`);
  const home = await run(['stat', '-c', '%u %g', '/home/node']);
  if (home !== '1000 1000') problems.push(`has /home/node owned by node, 1000:1000 (got ${home})`);
  return problems;
}

/** Host commands that do not start (`git`, `openssl`): each as "`name` (what for)". */
export async function hostProblems(tools: Readonly<Record<string, string>>): Promise<string[]> {
  const problems: string[] = [];
  for (const [tool, why] of Object.entries(tools)) {
    const args = tool === 'openssl' ? ['version'] : ['--version'];
    try {
      await execFileAsync(tool, args, { timeout: 10_000 });
    } catch (error) {
      problems.push(
        `\`${tool}\` (${why}): ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found on PATH' : (error as Error).message.split('\n')[0]}`,
      );
    }
  }
  return problems;
}

/** One error naming everything missing, or nothing. */
export function requirementsError(suite: string, image: string, fromImage: readonly string[], fromHost: readonly string[]): Error | undefined {
  if (!fromImage.length && !fromHost.length) return undefined;
  const lines = [
    `${suite}: the test setup is missing what the suite needs (see README, "Adding a backend"):`,
    ...fromImage.map((p) => `  - the test image ${image} must be one that ${p}`),
    ...fromHost.map((p) => `  - this host needs ${p}`),
  ];
  return new Error(lines.join('\n'));
}
