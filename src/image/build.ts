/**
 * `claude-bottle image build`: the agent image, from this machine's own registries only, into
 * docker's storage or podman's.
 *
 * 1. npm tarballs (Node, claude-code and its native binary), pinned by version and integrity,
 *    fetched with `npm pack` into the cache dir and checked against the recipe's sha512 (./npm.ts).
 * 2. The Debian base: `debootstrap --variant=minbase --include=git,curl,ca-certificates`, then the
 *    recipe's rootfs script in a chroot; the rootfs tarball is cached (./rootfs.ts) and
 *    `import`ed as `claude-bottle/agent-base:<hash>`.
 * 3. The tools layer: Node and claude laid out on the host (./layer.ts), copied into a container
 *    of the base, committed with the image config and the content label.
 *
 * Every step is skipped when its output already exists: an image whose content label matches
 * the recipe is not rebuilt at all, and after `rmi` the cached tarballs make it quick. For
 * podman, an image docker already has from this recipe is saved and loaded instead: the same
 * build in both engines.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { BUILDER_LABEL, createdId, type ImageCli, imageArgv, labelChanges } from '../engines/container/images.ts';
import type { Env } from '../host/state.ts';
import { createProcessTransport } from '../transport/process.ts';
import type { Transport } from '../transport/types.ts';
import { layOutTools } from './layer.ts';
import { fetchNpmTarball, spec } from './npm.ts';
import { BuildRun, type ImageBuildProgress, type ImageBuildStepReport } from './progress.ts';
import {
  AGENT_BASE_REPOSITORY,
  AGENT_IMAGE,
  AGENT_IMAGE_REPOSITORY,
  CLAUDE_CODE_VERSION,
  DEBIAN,
  DEBIAN_ARCH,
  hostImageArch,
  IMAGE_CONFIG,
  IMAGE_LABELS,
  type ImageArch,
  NODE_VERSION,
  type NpmPin,
  PINS,
  type RecipeHashes,
  recipeHashes,
} from './recipe.ts';
import { buildRootfsTar } from './rootfs.ts';
import { imageCacheDir, inspectImage } from './status.ts';

export { fetchNpmTarball } from './npm.ts';
export { ImageBuildError, type ImageBuildProgress, type ImageBuildStep, type ImageBuildStepReport } from './progress.ts';
export { DEBIAN_MIRROR_ENV, debianMirror } from './rootfs.ts';
export { agentImageStatus, CACHE_DIR_ENV, imageCacheDir, type AgentImageStatus } from './status.ts';

export interface BuildAgentImageOptions {
  /** Runs docker or podman, npm, debootstrap, chroot and tar. Defaults to the execa transport. */
  readonly transport?: Transport;
  /** Cache dir, mirror and HOME are read from it; defaults to `process.env`. */
  readonly env?: Env;
  /** Defaults to `$CLAUDE_BOTTLE_CACHE_DIR`, else `$XDG_CACHE_HOME/claude-bottle`, else `~/.cache/claude-bottle`; the build uses `<it>/image`. */
  readonly cacheDir?: string;
  /** The tag to build; defaults to `claude-bottle/agent:latest` (also tagged with the claude-code version). */
  readonly image?: string;
  readonly arch?: ImageArch;
  /** A Debian mirror for debootstrap; defaults to `$CLAUDE_BOTTLE_DEBIAN_MIRROR`, else the host's apt sources. */
  readonly mirror?: string;
  /** Rebuild the layers even when an image with the same content label exists (cached tarballs are still used). */
  readonly force?: boolean;
  /** Whose storage the image goes to: `docker` (default) or `podman`. */
  readonly engine?: ImageCli;
  readonly onProgress?: (progress: ImageBuildProgress) => void;
  /** How often a long step reports that it is still running; default 10 s. */
  readonly heartbeatMs?: number;
}

export interface AgentImageBuild {
  readonly image: string;
  readonly tags: readonly string[];
  readonly contentHash: string;
  /** False when an image with this content label was already present: nothing was done. */
  readonly built: boolean;
  readonly baseImage: string;
  readonly sizeBytes: number;
  readonly durationMs: number;
  readonly steps: readonly ImageBuildStepReport[];
  readonly claudeCodeVersion: string;
  readonly nodeVersion: string;
  /** `docker` or `podman`: whose storage holds it. */
  readonly engine: ImageCli;
}

type ImageArgv = ReturnType<typeof imageArgv>;

/** What every step of one build reads. */
interface Build {
  readonly run: BuildRun;
  readonly cli: ImageCli;
  readonly images: ImageArgv;
  readonly options: BuildAgentImageOptions;
  readonly env: Env;
  readonly arch: ImageArch;
  readonly image: string;
  readonly tags: readonly string[];
  readonly hashes: RecipeHashes;
  readonly baseImage: string;
  readonly cacheDir: string;
}

export async function buildAgentImage(options: BuildAgentImageOptions = {}): Promise<AgentImageBuild> {
  const b = plan(options);
  const { run, image, hashes, cli } = b;
  const existing = await inspectImage(run.transport, image, cli);
  if (!options.force && existing?.labels[IMAGE_LABELS.content] === hashes.image) {
    // Tags may have been removed one by one; restoring one is cheap.
    for (const tag of b.tags.slice(1)) await run.transport.run(b.images.tag(image, tag));
    run.steps.push({ step: 'check', durationMs: run.elapsedMs, cached: true });
    run.report('check', `${image} is current in ${cli} (content ${hashes.image.slice(0, 12)}); nothing to build`);
    return result(b, false, existing.size);
  }
  run.report(
    'check',
    `building ${image} for ${cli} (content ${hashes.image.slice(0, 12)}, claude-code ${CLAUDE_CODE_VERSION}, node ${NODE_VERSION}, debian ${DEBIAN.suite} ${DEBIAN_ARCH[b.arch]})`,
  );
  if (cli !== 'docker' && !options.force && (await loadFromDocker(b))) return result(b, true, (await inspectImage(run.transport, image, cli))?.size ?? 0);
  const tarballs = await fetchTarballs(b);
  await ensureBase(b);
  await commitTools(b, tarballs);
  return result(b, true, (await inspectImage(run.transport, image, cli))?.size ?? 0);
}

function plan(options: BuildAgentImageOptions): Build {
  const env = options.env ?? process.env;
  const arch = options.arch ?? hostImageArch();
  const image = options.image ?? AGENT_IMAGE;
  const hashes = recipeHashes(arch);
  const cli = options.engine ?? 'docker';
  return {
    run: new BuildRun(options.transport ?? createProcessTransport({ env }), options),
    cli,
    images: imageArgv(cli),
    options,
    env,
    arch,
    image,
    tags: image === AGENT_IMAGE ? [image, `${AGENT_IMAGE_REPOSITORY}:${CLAUDE_CODE_VERSION}`] : [image],
    hashes,
    baseImage: `${AGENT_BASE_REPOSITORY}:${hashes.base.slice(0, 16)}`,
    cacheDir: options.cacheDir ?? imageCacheDir(env),
  };
}

function result(b: Build, built: boolean, sizeBytes: number): AgentImageBuild {
  return {
    image: b.image,
    tags: b.tags,
    contentHash: b.hashes.image,
    built,
    baseImage: b.baseImage,
    sizeBytes,
    durationMs: b.run.elapsedMs,
    steps: b.run.steps,
    claudeCodeVersion: CLAUDE_CODE_VERSION,
    nodeVersion: NODE_VERSION,
    engine: b.cli,
  };
}

/** The same build into podman: when docker has this recipe's image, `docker save` it and `podman load` it. */
async function loadFromDocker(b: Build): Promise<boolean> {
  const { run } = b;
  const inDocker = await inspectImage(run.transport, b.image, 'docker').catch(() => undefined);
  if (inDocker?.labels[IMAGE_LABELS.content] !== b.hashes.image) return false;
  const archive = join(b.cacheDir, `agent-${b.hashes.image.slice(0, 16)}-${randomBytes(4).toString('hex')}.tar`);
  await run.timed('load', `docker save | ${b.cli} load ${b.tags.join(', ')}`, async () => {
    try {
      await run.must('load', imageArgv('docker').save(archive, b.tags), `saving ${b.image} from docker`);
      await run.must('load', b.images.load(archive), `loading it into ${b.cli}`);
    } finally {
      await rm(archive, { force: true });
    }
    return { value: undefined, cached: false };
  });
  return true;
}

async function fetchTarballs(b: Build): Promise<{ node: string; claudeCode: string; native: string }> {
  const npmDir = join(b.cacheDir, 'npm');
  const pins = PINS[b.arch];
  return b.run.timed('fetch', `npm tarballs ${[pins.node, pins.claudeCode, pins.claudeCodeNative].map(spec).join(', ')}`, async () => {
    let cached = true;
    const fetchOne = async (pin: NpmPin): Promise<string> => {
      const got = await fetchNpmTarball(b.run.transport, pin, npmDir);
      if (!got.cached) cached = false;
      return got.path;
    };
    const [node, claudeCode, native] = [await fetchOne(pins.node), await fetchOne(pins.claudeCode), await fetchOne(pins.claudeCodeNative)];
    return { value: { node, claudeCode, native }, cached };
  });
}

/** The Debian base image: made from the cached rootfs tarball unless one with its content label is there. */
async function ensureBase(b: Build): Promise<void> {
  const { run, hashes } = b;
  const baseInfo = b.options.force ? undefined : await inspectImage(run.transport, b.baseImage, b.cli);
  if (baseInfo?.labels[IMAGE_LABELS.content] === hashes.base) return run.skipped('base', `${b.baseImage} is current`);
  const rootfsTar = join(b.cacheDir, 'rootfs', `debian-${DEBIAN.suite}-${DEBIAN_ARCH[b.arch]}-${hashes.base.slice(0, 16)}.tar`);
  await run.timed('rootfs', `debootstrap --variant=${DEBIAN.variant} --include=${DEBIAN.packages.join(',')} ${DEBIAN.suite}`, () =>
    buildRootfsTar(run, rootfsTar, { arch: b.arch, mirror: b.options.mirror, env: b.env, cacheDir: b.cacheDir }),
  );
  await run.timed('base', `${b.cli} import ${b.baseImage}`, async () => {
    const config = [
      'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      ...labelChanges({ [IMAGE_LABELS.content]: hashes.base, [IMAGE_LABELS.role]: 'base', [IMAGE_LABELS.debian]: DEBIAN.suite }),
    ];
    await run.must('base', b.images.importTar(rootfsTar, b.baseImage, config), 'importing the root filesystem');
    return { value: undefined, cached: false };
  });
}

/** The tools layer, copied into a builder container of the base and committed as the image. */
async function commitTools(b: Build, tarballs: { node: string; claudeCode: string; native: string }): Promise<void> {
  const { run, images, tags } = b;
  const stage = join(b.cacheDir, `stage-${randomBytes(4).toString('hex')}`);
  try {
    const layer = await run.timed('layer', `laying out node ${NODE_VERSION} and claude-code ${CLAUDE_CODE_VERSION}`, async () => ({
      value: await layOutTools(stage, tarballs, run.transport, b.arch),
      cached: false,
    }));
    await run.timed('commit', `${b.cli} cp + commit ${tags.join(', ')}`, () =>
      inBuilder(run, images, `claude-bottle-image-build-${randomBytes(4).toString('hex')}`, b.baseImage, async (builder) => {
        await run.must('commit', images.copyDir(layer, builder), 'copying the tools layer');
        const labels = {
          [IMAGE_LABELS.content]: b.hashes.image,
          [IMAGE_LABELS.role]: 'agent',
          [IMAGE_LABELS.claudeCode]: CLAUDE_CODE_VERSION,
          [IMAGE_LABELS.node]: NODE_VERSION,
          [IMAGE_LABELS.debian]: DEBIAN.suite,
          [BUILDER_LABEL]: '',
        };
        const [first, ...more] = tags as [string, ...string[]];
        await run.must('commit', images.commit(builder, first, [...IMAGE_CONFIG, ...labelChanges(labels)]), 'committing the image');
        for (const tag of more) await run.must('commit', images.tag(first, tag), `tagging ${tag}`);
        return { value: undefined, cached: false };
      }),
    );
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

/**
 * A builder container of `image`, named `name`, for the length of `use`, which gets its id.
 * Removed afterwards by that id, never by name: when the name is taken the create fails, and
 * the container that has it is someone else's.
 */
export async function inBuilder<T>(run: BuildRun, images: ImageArgv, name: string, image: string, use: (id: string) => Promise<T>): Promise<T> {
  const id = createdId((await run.must('commit', images.createBuilder(name, image), 'creating the build container')).stdout);
  try {
    return await use(id);
  } finally {
    await run.transport.run(images.removeContainer(id));
  }
}
