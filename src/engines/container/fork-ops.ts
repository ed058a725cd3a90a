/**
 * Forking on the container CLIs, run: the golden committed to an image labelled as ours, the
 * clones created from it, and that image (the clones' fork base) removed with the last of them.
 * The argv is in ./fork.ts; ContainerEngine hands these its CLI calls and its machine verbs.
 */
import { BOTTLE_LABEL, type Engine, type ForkBase, type ForkBaseInfo, type ForkClone, type ForkResult, LAUNCH_LABEL } from '../../engine/types.ts';
import type { CommandResult } from '../../transport/types.ts';
import type { ContainerCli } from './cli.ts';
import { committedId, FORK_OF_LABEL, forkArgv } from './fork.ts';
import { isNoSuchImage } from './images.ts';

/** What forking needs of the engine. */
export interface ForkHost {
  readonly cli: ContainerCli;
  /** The engine's machine verbs, each one CLI call (create: one with its env-file). */
  readonly machines: Pick<Engine, 'status' | 'start' | 'create' | 'remove'>;
  run(argv: readonly string[]): Promise<CommandResult>;
  /** `run`, throwing the CLI's error on a non-zero exit. */
  ok(argv: readonly string[]): Promise<CommandResult>;
}

/**
 * Commits the golden to an image labelled as ours, paused for the length of the commit (a
 * consistent filesystem; its processes, in-flight execs among them, carry on afterwards), and
 * creates and starts each clone from it with its own labels and network. A clone that fails
 * takes the ones made before it, and the image, down with it.
 */
export async function forkContainer(
  host: ForkHost,
  golden: string,
  clones: readonly ForkClone[],
  options: { readonly labels: Readonly<Record<string, string>> },
): Promise<ForkResult> {
  const tag = `claude-bottle-fork/${golden.toLowerCase()}:${options.labels[LAUNCH_LABEL] ?? 'latest'}`;
  // One call: a golden that is not there is the CLI's own not-found; nothing runs after the commit that could lose its id.
  const id = committedId((await host.ok(forkArgv(host.cli.program).commit(golden, tag, { ...options.labels, [FORK_OF_LABEL]: golden }))).stdout);
  const made: string[] = [];
  try {
    // The clones side by side: each is a create and a start of the same local image.
    const results = await Promise.allSettled(
      clones.map(async (clone) => {
        made.push(clone.name);
        await host.machines.create({ name: clone.name, image: id, labels: clone.labels, network: clone.network, ...(clone.user ? { user: clone.user } : {}) });
        await host.machines.start(clone.name);
      }),
    );
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  } catch (error) {
    for (const name of made.reverse()) {
      const machine = await host.machines.status(name).catch(() => undefined);
      // Only a clone this call made: it carries the labels it was given.
      const mine = clones.find((c) => c.name === name);
      if (machine && mine && Object.entries(mine.labels).every(([k, v]) => machine.labels[k] === v))
        await host.machines.remove(machine.id).catch(() => undefined);
    }
    await removeImageBase(host, { kind: 'image', id }).catch(() => undefined);
    throw error;
  }
  return { base: { kind: 'image', id }, goldenUsable: true };
}

/** Reads the image's labels back first: an image that is not our fork base is 'foreign' and stays. */
export async function removeImageBase(host: ForkHost, base: ForkBase): Promise<'removed' | 'in-use' | 'absent' | 'foreign'> {
  if (base.kind !== 'image') return 'absent';
  const argv = forkArgv(host.cli.program);
  const labels = await host.run(argv.labels(base.id));
  if (labels.exitCode !== 0) {
    if (isNoSuchImage(labels.stderr)) return 'absent';
    throw host.cli.error(labels);
  }
  const parsed = JSON.parse(labels.stdout.trim() || 'null') as Record<string, string> | null;
  if (parsed?.[BOTTLE_LABEL] !== '1' || parsed[FORK_OF_LABEL] === undefined) return 'foreign';
  if ((await host.ok(argv.users(base.id))).stdout.trim()) return 'in-use';
  const removed = await host.run(argv.remove(base.id));
  if (removed.exitCode !== 0 && !isNoSuchImage(removed.stderr)) throw host.cli.error(removed);
  return 'removed';
}

export async function listImageBases(host: ForkHost, labels: Readonly<Record<string, string>>): Promise<ForkBaseInfo[]> {
  const argv = forkArgv(host.cli.program);
  const ids = [...new Set((await host.ok(argv.list({ ...labels, [BOTTLE_LABEL]: '1' }))).stdout.split('\n').filter(Boolean))];
  const found: ForkBaseInfo[] = [];
  for (const id of ids) {
    const read = await host.run(argv.labels(id));
    if (read.exitCode !== 0) continue;
    const imageLabels = (JSON.parse(read.stdout.trim() || 'null') as Record<string, string> | null) ?? {};
    if (imageLabels[FORK_OF_LABEL] === undefined) continue;
    const machines = (await host.ok(argv.users(id))).stdout.split('\n').filter(Boolean).length;
    found.push({ base: { kind: 'image', id }, labels: imageLabels, machines });
  }
  return found;
}
