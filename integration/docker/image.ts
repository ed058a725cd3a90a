/**
 * The local test image for a container CLI (docker, podman), built from Debian's busybox-static:
 * nothing is ever pulled.
 *
 * A stage image is `docker import`ed from a small tar (busybox, passwd/group, home directories
 * with their owners), busybox installs its applet symlinks inside it, and the result is
 * committed under TEST_IMAGE with a content label, so an unchanged recipe is never rebuilt.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { packTar, type TarEntry } from '../../src/archive/tar.ts';
import { BUILDER_LABEL, createdId, imageArgv, labelChanges, parseImageInspect } from '../../src/engines/container/images.ts';
import type { CommandResult, RunOptions, Transport } from '../../src/transport/types.ts';

export const TEST_IMAGE = 'claude-bottle-test/busybox:1';
export const CONTENT_LABEL = 'claude-bottle.test-image.content';
export const BUSYBOX_STATIC = '/bin/busybox';

/** Bump when the steps below change in a way the stage tar does not show. */
const RECIPE = 'busybox-install-s/commit/v2';
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface TestImage {
  readonly image: string;
  readonly contentHash: string;
  /** False when an image with the same content label was already there. */
  readonly built: boolean;
}

export async function ensureTestImage(
  transport: Transport,
  options: { image?: string; busybox?: string; program?: 'docker' | 'podman'; env?: Readonly<Record<string, string>> } = {},
): Promise<TestImage> {
  const cli = options.program ?? 'docker';
  const runOptions: RunOptions = options.env ? { env: options.env } : {};
  const image = options.image ?? TEST_IMAGE;
  const busyboxPath = options.busybox ?? BUSYBOX_STATIC;
  const busybox = await readFile(busyboxPath).catch((cause: unknown) => {
    throw new Error(`the ${cli} test image needs a static busybox at ${busyboxPath}: apt-get install busybox-static`, { cause });
  });
  const stage = stageTar(busybox);
  const contentHash = createHash('sha256').update(RECIPE).update(stage).digest('hex');

  const images = imageArgv(cli);
  const existing = await transport.run(images.inspect(image), runOptions);
  if (existing.exitCode === 0 && parseImageInspect(existing.stdout).labels[CONTENT_LABEL] === contentHash) return { image, contentHash, built: false };

  const stageImage = `claude-bottle-test/busybox-stage:${contentHash.slice(0, 12)}`;
  try {
    await must(transport, images.importTar('-', stageImage, []), { ...runOptions, stdin: stage });
    const builder = createdId(
      (
        await must(
          transport,
          images.createBuilder(`claude-bottle-test-build-${randomBytes(4).toString('hex')}`, stageImage, ['/bin/busybox', '--install', '-s']),
          runOptions,
        )
      ).stdout,
    );
    try {
      const install = await transport.run(images.runBuilder(builder), runOptions);
      if (install.exitCode !== 0) {
        throw commandError(install, `busybox --install failed inside the stage image; is ${busyboxPath} the static busybox (busybox-static)?`);
      }
      await must(
        transport,
        images.commit(builder, image, ['CMD ["sh"]', `ENV PATH=${PATH}`, ...labelChanges({ [CONTENT_LABEL]: contentHash, [BUILDER_LABEL]: '' })]),
        runOptions,
      );
    } finally {
      // By the id create printed: never a namesake someone else made.
      await transport.run(images.removeContainer(builder), runOptions);
    }
  } finally {
    await transport.run([cli, 'image', 'rm', stageImage], runOptions);
  }
  return { image, contentHash, built: true };
}

/** Deterministic (mtime 0): its hash names the image's content. */
export function stageTar(busybox: Uint8Array): Uint8Array {
  const text = (s: string) => new TextEncoder().encode(s);
  const dir = (path: string, mode = 0o755, uid = 0, gid = 0): TarEntry => ({ path, type: 'directory', mode, uid, gid });
  const file = (path: string, data: Uint8Array, mode = 0o644): TarEntry => ({ path, type: 'file', mode, uid: 0, gid: 0, data });
  return packTar([
    dir('bin'),
    dir('sbin'),
    dir('usr'),
    dir('usr/bin'),
    dir('usr/sbin'),
    dir('etc'),
    dir('root', 0o700),
    dir('home'),
    dir('home/node', 0o755, 1000, 1000),
    dir('tmp', 0o1777),
    file('bin/busybox', busybox, 0o755),
    file('etc/passwd', text('root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000:node:/home/node:/bin/sh\n')),
    file('etc/group', text('root:x:0:\nnode:x:1000:\n')),
  ]);
}

async function must(transport: Transport, argv: readonly string[], options?: RunOptions): Promise<CommandResult> {
  const result = await transport.run(argv, options);
  if (result.exitCode !== 0) throw commandError(result, `building the ${argv[0]} test image failed`);
  return result;
}

function commandError(result: CommandResult, reason: string): Error {
  return new Error(`${reason}: ${result.argv.join(' ')} (exit ${result.exitCode})\n${result.stderr.trim()}`);
}
