/**
 * Rootful podman gives every container `nofile=1048576` (and `nproc=32768`) unless told
 * otherwise. Where this process's hard limits are lower and it lacks CAP_SYS_RESOURCE (a
 * container, a sandbox), runc cannot raise them and refuses to start any container
 * ("error setting rlimit type 7: operation not permitted"). A containers.conf with
 * `default_ulimits = []` makes podman set none, so containers inherit the host's.
 *
 * podman 4.3 reads `CONTAINERS_CONF` *instead of* its system files (there is no
 * CONTAINERS_CONF_OVERRIDE before 4.5), so claude-bottle points podman at its own file only
 * where it is needed, and never when the user set CONTAINERS_CONF: `doctor` says which.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { cacheRoot } from '../../host/cache.ts';
import { type Env, ensureDir, writeFileAtomic } from '../../host/state.ts';

export const CONTAINERS_CONF_ENV = 'CONTAINERS_CONF';
/** podman's default `nofile` for containers of a rootful podman. */
export const PODMAN_DEFAULT_NOFILE = 1_048_576;
/** podman's default `nproc`. */
export const PODMAN_DEFAULT_NPROC = 32_768;
const CAP_SYS_RESOURCE = 24;

export const CONTAINERS_CONF_TEXT = `# Written by claude-bottle for its own podman calls (claude-bottle doctor says why):
# podman's default ulimits exceed this host's hard limits, which runc cannot raise.
[containers]
default_ulimits = []
`;

/** What this process may give its children. */
export interface LimitFacts {
  readonly root: boolean;
  readonly capSysResource: boolean;
  readonly hardNofile: number;
  readonly hardNproc: number;
}

/** The facts from /proc (Linux); undefined elsewhere (podman then runs in a VM with its own limits). */
export async function readLimitFacts(proc = '/proc/self', uid: number | undefined = process.getuid?.()): Promise<LimitFacts | undefined> {
  let limits: string;
  let status: string;
  try {
    [limits, status] = await Promise.all([readFile(join(proc, 'limits'), 'utf8'), readFile(join(proc, 'status'), 'utf8')]);
  } catch {
    return undefined;
  }
  const hard = (name: string): number => {
    const value = new RegExp(`^${name}\\s+\\S+\\s+(\\S+)`, 'm').exec(limits)?.[1];
    return value === undefined || value === 'unlimited' ? Number.POSITIVE_INFINITY : Number(value);
  };
  const capEff = /^CapEff:\s*([0-9a-f]+)/m.exec(status)?.[1] ?? '0';
  return {
    root: uid === 0,
    capSysResource: ((BigInt(`0x${capEff}`) >> BigInt(CAP_SYS_RESOURCE)) & 1n) === 1n,
    hardNofile: hard('Max open files'),
    hardNproc: hard('Max processes'),
  };
}

/** Why podman's default ulimits cannot be applied here, or undefined when they can. */
export function ulimitProblem(facts: LimitFacts | undefined): string | undefined {
  // Rootless podman clamps its defaults to the caller's limits itself.
  if (!facts?.root || facts.capSysResource) return undefined;
  const low = [
    ...(facts.hardNofile < PODMAN_DEFAULT_NOFILE ? [`nofile ${facts.hardNofile} < ${PODMAN_DEFAULT_NOFILE}`] : []),
    ...(facts.hardNproc < PODMAN_DEFAULT_NPROC ? [`nproc ${facts.hardNproc} < ${PODMAN_DEFAULT_NPROC}`] : []),
  ];
  return low.length ? `this host's hard limits are below podman's defaults (${low.join(', ')}) and runc cannot raise them (no CAP_SYS_RESOURCE)` : undefined;
}

/** How podman is configured for claude-bottle's calls. */
export type ContainersConfSetup =
  /** podman's own configuration is used as it is. */
  | { readonly mode: 'podman-default' }
  /** The user set CONTAINERS_CONF: left alone, even if the problem exists. */
  | { readonly mode: 'user'; readonly path: string; readonly problem?: string }
  /** claude-bottle's file, for this reason. */
  | { readonly mode: 'claude-bottle'; readonly path: string; readonly problem: string };

export function containersConfPath(env: Env = process.env): string {
  return join(cacheRoot(env), 'podman', 'containers.conf');
}

/** Decides (without writing anything) what `podmanEnvironment` would do. */
export async function planContainersConf(env: Env = process.env, facts?: LimitFacts): Promise<ContainersConfSetup> {
  const problem = ulimitProblem(facts ?? (await readLimitFacts()));
  const user = env[CONTAINERS_CONF_ENV];
  if (user) return { mode: 'user', path: user, ...(problem ? { problem } : {}) };
  if (!problem) return { mode: 'podman-default' };
  return { mode: 'claude-bottle', path: containersConfPath(env), problem };
}

/**
 * The environment claude-bottle's podman calls need: `CONTAINERS_CONF` pointing at its file
 * (written 0600 in a 0700 dir, once) where podman's defaults cannot work here; else nothing.
 */
export async function podmanEnvironment(env: Env = process.env, facts?: LimitFacts): Promise<{ env: Record<string, string>; setup: ContainersConfSetup }> {
  const setup = await planContainersConf(env, facts);
  if (setup.mode !== 'claude-bottle') return { env: {}, setup };
  await writeContainersConf(setup.path);
  return { env: { [CONTAINERS_CONF_ENV]: setup.path }, setup };
}

async function writeContainersConf(path: string): Promise<void> {
  if ((await readFile(path, 'utf8').catch(() => undefined)) === CONTAINERS_CONF_TEXT) return;
  await ensureDir(dirname(path));
  await writeFileAtomic(path, CONTAINERS_CONF_TEXT);
}
