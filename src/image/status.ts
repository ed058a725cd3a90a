/** Whether the agent image is present in an engine's storage and built from this recipe. */
import { join } from 'node:path';
import { type ImageCli, type ImageInfo, imageArgv, isNoSuchImage, parseImageInspect } from '../engines/container/images.ts';
import { cacheRoot } from '../host/cache.ts';
import type { Env } from '../host/state.ts';
import type { Transport } from '../transport/types.ts';
import { ImageBuildError } from './progress.ts';
import { AGENT_IMAGE, hostImageArch, IMAGE_LABELS, type ImageArch, recipeHashes } from './recipe.ts';

export { CACHE_DIR_ENV } from '../host/cache.ts';

export interface AgentImageStatus {
  readonly image: string;
  readonly present: boolean;
  /** Present and built from this recipe. */
  readonly current: boolean;
  readonly expectedContentHash: string;
  readonly contentHash?: string;
  readonly sizeBytes?: number;
  readonly claudeCodeVersion?: string;
  readonly nodeVersion?: string;
}

/** `<cache root>/image`: npm tarballs and debootstrap root filesystems. */
export function imageCacheDir(env: Env = process.env): string {
  return join(cacheRoot(env), 'image');
}

/** An image's labels and size, or undefined when the engine has no such image (any other failure throws). */
export async function inspectImage(transport: Transport, image: string, cli: ImageCli = 'docker'): Promise<ImageInfo | undefined> {
  const result = await transport.run(imageArgv(cli).inspect(image));
  if (result.exitCode !== 0) {
    if (isNoSuchImage(result.stderr)) return undefined;
    throw new ImageBuildError('check', `inspecting ${image}`, result);
  }
  return parseImageInspect(result.stdout);
}

/** Whether the agent image exists (in docker's storage, or podman's) and was built from this recipe; never throws for a missing image. */
export async function agentImageStatus(transport: Transport, options: { image?: string; arch?: ImageArch; engine?: ImageCli } = {}): Promise<AgentImageStatus> {
  const image = options.image ?? AGENT_IMAGE;
  const expectedContentHash = recipeHashes(options.arch ?? hostImageArch()).image;
  const info = await inspectImage(transport, image, options.engine);
  if (!info) return { image, present: false, current: false, expectedContentHash };
  const contentHash = info.labels[IMAGE_LABELS.content];
  const claudeCodeVersion = info.labels[IMAGE_LABELS.claudeCode];
  const nodeVersion = info.labels[IMAGE_LABELS.node];
  return {
    image,
    present: true,
    current: contentHash === expectedContentHash,
    expectedContentHash,
    ...(contentHash !== undefined ? { contentHash } : {}),
    sizeBytes: info.size,
    ...(claudeCodeVersion !== undefined ? { claudeCodeVersion } : {}),
    ...(nodeVersion !== undefined ? { nodeVersion } : {}),
  };
}
