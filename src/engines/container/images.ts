/**
 * Image argv for the container CLIs (docker, podman), for building and moving the agent image:
 * inspect, import, a builder container, copy, commit, tag, save and load. The same verbs on both
 * CLIs; one quirk: podman reads `LABEL a=1 b=2` as one label `a` = `1 b=2`, so every label is
 * its own change.
 */
import { checkContainerName, checkImage } from './argv.ts';

export type ImageCli = 'docker' | 'podman';

/**
 * The label on every builder container an image build makes. A commit keeps the container's
 * labels, so the committed image blanks it (`BUILDER_LABEL=`): else every container made from
 * the image would read as a builder.
 */
export const BUILDER_LABEL = 'claude-bottle.image-builder';

export interface ImageInfo {
  readonly labels: Readonly<Record<string, string>>;
  readonly size: number;
}

export function imageArgv(cli: ImageCli) {
  const p = cli;
  const changes = (list: readonly string[]): string[] => list.flatMap((change) => ['--change', change]);
  return {
    /** Labels and size on one line: `{"k":"v"} 740000000`. */
    inspect: (image: string): string[] => [p, 'image', 'inspect', '--format', '{{json .Config.Labels}} {{.Size}}', checkImage(image)],
    tag: (from: string, to: string): string[] => [p, 'tag', checkImage(from), checkImage(to)],
    /** A root filesystem tarball as an image. */
    importTar: (tar: string, image: string, config: readonly string[]): string[] => [p, 'import', ...changes(config), tar, checkImage(image)],
    /**
     * A place to copy files into and commit, labelled as a builder, without network; it runs
     * `command` only when started (`runBuilder`). Prints the container's id, which removes it.
     */
    createBuilder: (name: string, image: string, command: readonly string[] = ['true']): string[] => [
      p,
      'create',
      '--pull',
      'never',
      '--network',
      'none',
      '--label',
      `${BUILDER_LABEL}=1`,
      '--name',
      checkContainerName(name),
      checkImage(image),
      ...command,
    ],
    /** Runs a builder's command to its end, attached: exits as the command did. */
    runBuilder: (id: string): string[] => [p, 'start', '--attach', checkContainerName(id)],
    /** `<dir>/.`: the directory's contents, merged into the container's root. */
    copyDir: (dir: string, name: string): string[] => [p, 'cp', `${dir}/.`, `${checkContainerName(name)}:/`],
    commit: (name: string, image: string, config: readonly string[]): string[] => [
      p,
      'commit',
      ...changes(config),
      checkContainerName(name),
      checkImage(image),
    ],
    /** By the id `createBuilder` printed: a namesake made by someone else is never matched. */
    removeContainer: (id: string): string[] => [p, 'rm', '-f', checkContainerName(id)],
    save: (file: string, images: readonly string[]): string[] => [p, 'save', '-o', file, ...images.map(checkImage)],
    load: (file: string): string[] => [p, 'load', '-i', file],
  };
}

/** `LABEL` changes, one per label (see above). */
export function labelChanges(labels: Readonly<Record<string, string>>): string[] {
  return Object.entries(labels).map(([key, value]) => `LABEL ${key}=${value}`);
}

/** What `imageArgv(…).inspect` printed. */
export function parseImageInspect(stdout: string): ImageInfo {
  const line = stdout.trim();
  const space = line.lastIndexOf(' ');
  const labels = JSON.parse(line.slice(0, space)) as Record<string, string> | null;
  return { labels: labels ?? {}, size: Number(line.slice(space + 1)) };
}

/** The id `createBuilder` printed (its last line). */
export function createdId(stdout: string): string {
  const id = stdout.trim().split('\n').at(-1)?.trim() ?? '';
  if (!/^[0-9a-f]{12,64}$/.test(id)) throw new Error(`not a container id: ${JSON.stringify(id)}`);
  return id;
}

/** docker says "No such image", podman "image not known". */
export function isNoSuchImage(stderr: string): boolean {
  return /no such image|image not known/i.test(stderr);
}
