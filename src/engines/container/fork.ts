/**
 * Forking on the container CLIs (docker, podman): the golden is committed, paused, to a local
 * image labelled as ours, and each clone is created from it. The image is the clones' fork base:
 * it goes with the last of them. Argv only; ContainerEngine runs it.
 */
import { FORK_OF_LABEL } from '../../engine/types.ts';
import { checkContainerName, checkImage } from './argv.ts';
import { labelChanges } from './images.ts';

export { FORK_OF_LABEL };

const IMAGE_ID = /^(sha256:)?[0-9a-f]{12,64}$/;

export function checkImageId(id: string): string {
  if (!IMAGE_ID.test(id)) throw new Error(`not an image id: ${JSON.stringify(id)}`);
  return id;
}

export function forkArgv(program: string) {
  return {
    /**
     * `--change LABEL …` per label (podman's quirk, see ./images.ts); prints the new image's id.
     * `--pause=true`: frozen while its filesystem is read (docker's default, not podman's).
     */
    commit: (container: string, image: string, labels: Readonly<Record<string, string>>): string[] => [
      program,
      'commit',
      '--pause=true',
      ...labelChanges(labels).flatMap((change) => ['--change', change]),
      checkContainerName(container),
      checkImage(image),
    ],
    /** One line: the image's labels as JSON (`null` without any). */
    labels: (id: string): string[] => [program, 'image', 'inspect', '--format', '{{json .Config.Labels}}', checkImageId(id)],
    /** Ids of images carrying all of these labels. */
    list: (labels: Readonly<Record<string, string>>): string[] => [
      program,
      'image',
      'ls',
      '-q',
      '--no-trunc',
      ...Object.entries(labels).flatMap(([k, v]) => ['--filter', `label=${k}=${v}`]),
    ],
    /** Containers made from the image, running or not. */
    users: (id: string): string[] => [program, 'ps', '-a', '-q', '--no-trunc', '--filter', `ancestor=${checkImageId(id)}`],
    remove: (id: string): string[] => [program, 'image', 'rm', checkImageId(id)],
  };
}

/** The id `commit` printed (its last line; podman prints progress before it). */
export function committedId(stdout: string): string {
  const id = stdout.trim().split('\n').at(-1)?.trim() ?? '';
  return checkImageId(id);
}
