/**
 * `claude-bottle image build`: the agent image, from this machine's own registries only.
 *
 * 1. npm tarballs (Node, claude-code and its native binary), pinned by version and integrity,
 *    fetched with `npm pack` into the cache dir and checked against the recipe's sha512.
 * 2. The Debian base: `debootstrap --variant=minbase --include=git,curl,ca-certificates`, then the
 *    recipe's rootfs script in a chroot (the `node` user, cleanup). The rootfs tarball is cached,
 *    and `docker import`ed as `claude-bottle/agent-base:<hash>`.
 * 3. The tools layer: Node and claude laid out on the host, `docker cp`'d into a container of the
 *    base, committed with the image config and the content label.
 *
 * Every step is skipped when its output already exists: an image whose content label matches
 * the recipe is not rebuilt at all, and after `docker rmi` the cached tarballs make it quick.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, mkdir, readFile, readdir, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { Env } from '../host/state.ts';
import { ClaudeBottleError, formatArgv } from '../errors.ts';
import { createExecaTransport } from '../transport/execa.ts';
import type { CommandResult, RunOptions, Transport } from '../transport/types.ts';
import {
  AGENT_BASE_REPOSITORY,
  AGENT_IMAGE,
  AGENT_IMAGE_REPOSITORY,
  AGENT_USER,
  CLAUDE_CODE_VERSION,
  DEBIAN,
  DEBIAN_ARCH,
  GUEST_LAYOUT,
  hostImageArch,
  IMAGE_CONFIG,
  IMAGE_LABELS,
  type ImageArch,
  NODE_VERSION,
  type NpmPin,
  PINS,
  recipeHashes,
  ROOTFS_SCRIPT,
} from './recipe.ts';

export const CACHE_DIR_ENV = 'CLAUDE_BOTTLE_CACHE_DIR';
export const DEBIAN_MIRROR_ENV = 'CLAUDE_BOTTLE_DEBIAN_MIRROR';

export type ImageBuildStep = 'check' | 'fetch' | 'rootfs' | 'base' | 'layer' | 'commit';

export interface ImageBuildProgress {
  readonly step: ImageBuildStep;
  readonly message: string;
  /** Since the build started. */
  readonly elapsedMs: number;
}

export class ImageBuildError extends ClaudeBottleError {
  override name = 'ImageBuildError';
  readonly step: ImageBuildStep;
  readonly result: CommandResult | undefined;
  constructor(step: ImageBuildStep, message: string, result?: CommandResult, options?: { cause?: unknown }) {
    const detail = result ? `: ${formatArgv(result.argv)} (exit ${result.exitCode})${tail(result.stderr || result.stdout)}` : '';
    super(`image build failed at ${step}: ${message}${detail}`, options);
    this.step = step;
    this.result = result;
  }
}

export interface BuildAgentImageOptions {
  /** Runs docker, npm, debootstrap, chroot and tar. Defaults to the execa transport. */
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
  readonly onProgress?: (progress: ImageBuildProgress) => void;
  /** How often a long step reports that it is still running; default 10 s. */
  readonly heartbeatMs?: number;
}

export interface ImageBuildStepReport {
  readonly step: ImageBuildStep;
  readonly durationMs: number;
  /** True when the step's output was already there. */
  readonly cached: boolean;
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
}

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
  const explicit = env[CACHE_DIR_ENV];
  if (explicit && isAbsolute(explicit)) return join(resolve(explicit), 'image');
  const xdg = env.XDG_CACHE_HOME;
  const root = xdg && isAbsolute(xdg) ? join(xdg, 'claude-bottle') : join(env.HOME || homedir(), '.cache', 'claude-bottle');
  return join(root, 'image');
}

/** Whether the agent image exists and was built from this recipe; never throws for a missing image. */
export async function agentImageStatus(
  transport: Transport,
  options: { image?: string; arch?: ImageArch } = {},
): Promise<AgentImageStatus> {
  const image = options.image ?? AGENT_IMAGE;
  const expectedContentHash = recipeHashes(options.arch ?? hostImageArch()).image;
  const info = await inspectImage(transport, image);
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

export async function buildAgentImage(options: BuildAgentImageOptions = {}): Promise<AgentImageBuild> {
  const env = options.env ?? process.env;
  const transport = options.transport ?? createExecaTransport({ env });
  const arch = options.arch ?? hostImageArch();
  const image = options.image ?? AGENT_IMAGE;
  const versionTag = `${AGENT_IMAGE_REPOSITORY}:${CLAUDE_CODE_VERSION}`;
  const tags = image === AGENT_IMAGE ? [image, versionTag] : [image];
  const hashes = recipeHashes(arch);
  const baseImage = `${AGENT_BASE_REPOSITORY}:${hashes.base.slice(0, 16)}`;
  const cacheDir = options.cacheDir ?? imageCacheDir(env);
  const started = performance.now();
  const steps: ImageBuildStepReport[] = [];
  const report = (step: ImageBuildStep, message: string): void =>
    options.onProgress?.({ step, message, elapsedMs: performance.now() - started });

  /** Runs one step, reporting every `heartbeatMs` while it lasts. */
  const timed = async <T>(step: ImageBuildStep, message: string, fn: () => Promise<{ value: T; cached: boolean }>): Promise<T> => {
    const stepStart = performance.now();
    report(step, message);
    const heartbeat = setInterval(
      () => report(step, `${message} (still running, ${Math.round((performance.now() - stepStart) / 1000)}s)`),
      options.heartbeatMs ?? 10_000,
    );
    try {
      const { value, cached } = await fn();
      const durationMs = performance.now() - stepStart;
      steps.push({ step, durationMs, cached });
      report(step, `${message}: ${cached ? 'cached' : 'done'} in ${seconds(durationMs)}`);
      return value;
    } finally {
      clearInterval(heartbeat);
    }
  };
  const run = async (step: ImageBuildStep, argv: readonly string[], what: string, runOptions?: RunOptions): Promise<CommandResult> => {
    const result = await transport.run(argv, runOptions);
    if (result.exitCode !== 0) throw new ImageBuildError(step, what, result);
    return result;
  };

  const existing = await inspectImage(transport, image);
  if (!options.force && existing?.labels[IMAGE_LABELS.content] === hashes.image) {
    // Tags may have been removed one by one; restoring one is cheap.
    for (const tag of tags.slice(1)) await transport.run(['docker', 'tag', image, tag]);
    steps.push({ step: 'check', durationMs: performance.now() - started, cached: true });
    report('check', `${image} is current (content ${hashes.image.slice(0, 12)}); nothing to build`);
    return result(false, existing.size);
  }
  report('check', `building ${image} (content ${hashes.image.slice(0, 12)}, claude-code ${CLAUDE_CODE_VERSION}, node ${NODE_VERSION}, debian ${DEBIAN.suite} ${DEBIAN_ARCH[arch]})`);

  const npmDir = join(cacheDir, 'npm');
  const pins = PINS[arch];
  const tarballs = await timed('fetch', `npm tarballs ${[pins.node, pins.claudeCode, pins.claudeCodeNative].map(spec).join(', ')}`, async () => {
    let cached = true;
    const fetchOne = async (pin: NpmPin): Promise<string> => {
      const got = await fetchNpmTarball(transport, pin, npmDir);
      if (!got.cached) cached = false;
      return got.path;
    };
    const [node, claudeCode, native] = [await fetchOne(pins.node), await fetchOne(pins.claudeCode), await fetchOne(pins.claudeCodeNative)];
    return { value: { node, claudeCode, native }, cached };
  });

  const baseInfo = options.force ? undefined : await inspectImage(transport, baseImage);
  if (baseInfo?.labels[IMAGE_LABELS.content] !== hashes.base) {
    const rootfsTar = join(cacheDir, 'rootfs', `debian-${DEBIAN.suite}-${DEBIAN_ARCH[arch]}-${hashes.base.slice(0, 16)}.tar`);
    await timed('rootfs', `debootstrap --variant=${DEBIAN.variant} --include=${DEBIAN.packages.join(',')} ${DEBIAN.suite}`, async () => {
      if (await exists(rootfsTar)) return { value: undefined, cached: true };
      if (process.getuid?.() !== 0) {
        throw new ImageBuildError('rootfs', 'debootstrap needs root: run `claude-bottle image build` as root (or with sudo) once; later builds reuse its cached root filesystem');
      }
      const mirror = options.mirror ?? (await debianMirror(env));
      const work = join(cacheDir, `work-${randomBytes(4).toString('hex')}`);
      const partial = `${rootfsTar}.${randomBytes(4).toString('hex')}.partial`;
      const rootfs = join(work, 'rootfs');
      await mkdir(rootfs, { recursive: true });
      try {
        await run('rootfs', [
          'debootstrap',
          `--variant=${DEBIAN.variant}`,
          `--include=${DEBIAN.packages.join(',')}`,
          `--arch=${DEBIAN_ARCH[arch]}`,
          DEBIAN.suite,
          rootfs,
          mirror,
        ], `debootstrap from ${mirror}`);
        await run('rootfs', ['env', '-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'LC_ALL=C', 'chroot', rootfs, '/bin/sh', '-eu', '-c', ROOTFS_SCRIPT], 'the rootfs script');
        await mkdir(join(cacheDir, 'rootfs'), { recursive: true });
        // Device nodes, /proc and /sys belong to the container runtime, not the image.
        await run('rootfs', ['tar', '--numeric-owner', '--xattrs', '-C', rootfs, '--exclude=./dev/*', '--exclude=./proc/*', '--exclude=./sys/*', '-cf', partial, '.'], 'archiving the root filesystem');
        await rename(partial, rootfsTar);
      } finally {
        await rm(work, { recursive: true, force: true });
        await rm(partial, { force: true });
      }
      return { value: undefined, cached: false };
    });
    await timed('base', `docker import ${baseImage}`, async () => {
      await run('base', [
        'docker', 'import',
        '--change', 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        '--change', `LABEL ${IMAGE_LABELS.content}=${hashes.base} ${IMAGE_LABELS.role}=base ${IMAGE_LABELS.debian}=${DEBIAN.suite}`,
        rootfsTar, baseImage,
      ], 'importing the root filesystem');
      return { value: undefined, cached: false };
    });
  } else {
    steps.push({ step: 'base', durationMs: 0, cached: true });
    report('base', `${baseImage} is current`);
  }

  const stage = join(cacheDir, `stage-${randomBytes(4).toString('hex')}`);
  const builder = `claude-bottle-image-build-${randomBytes(4).toString('hex')}`;
  try {
    const layer = await timed('layer', `laying out node ${NODE_VERSION} and claude-code ${CLAUDE_CODE_VERSION}`, async () => ({
      value: await layOutTools(stage, tarballs, transport, arch),
      cached: false,
    }));
    await timed('commit', `docker cp + commit ${tags.join(', ')}`, async () => {
      await run('commit', ['docker', 'create', '--pull', 'never', '--name', builder, baseImage, 'true'], 'creating the build container');
      // `<dir>/.`: the directory's contents, merged into the container's root.
      await run('commit', ['docker', 'cp', `${layer}/.`, `${builder}:/`], 'copying the tools layer');
      const changes = [
        ...IMAGE_CONFIG,
        `LABEL ${IMAGE_LABELS.content}=${hashes.image} ${IMAGE_LABELS.role}=agent ${IMAGE_LABELS.claudeCode}=${CLAUDE_CODE_VERSION} ${IMAGE_LABELS.node}=${NODE_VERSION} ${IMAGE_LABELS.debian}=${DEBIAN.suite}`,
      ].flatMap((change) => ['--change', change]);
      const [first, ...more] = tags as [string, ...string[]];
      await run('commit', ['docker', 'commit', ...changes, builder, first], 'committing the image');
      for (const tag of more) await run('commit', ['docker', 'tag', first, tag], `tagging ${tag}`);
      return { value: undefined, cached: false };
    });
  } finally {
    await transport.run(['docker', 'rm', '-f', builder]);
    await rm(stage, { recursive: true, force: true });
  }
  const built = await inspectImage(transport, image);
  return result(true, built?.size ?? 0);

  function result(didBuild: boolean, sizeBytes: number): AgentImageBuild {
    return {
      image,
      tags,
      contentHash: hashes.image,
      built: didBuild,
      baseImage,
      sizeBytes,
      durationMs: performance.now() - started,
      steps,
      claudeCodeVersion: CLAUDE_CODE_VERSION,
      nodeVersion: NODE_VERSION,
    };
  }
}

/**
 * Builds `<stage>/root`, the tools layer as it lands on `/`: `/usr/local/bin/node`; the claude-code package under `/usr/local/lib/node_modules` with the
 * native binary in place of its `bin/claude.exe` stub (what its postinstall does); a
 * `/usr/local/bin/claude` link; a manifest of what went in.
 */
async function layOutTools(
  stage: string,
  tarballs: { node: string; claudeCode: string; native: string },
  transport: Transport,
  arch: ImageArch,
): Promise<string> {
  const unpack = async (tarball: string, into: string): Promise<string> => {
    await mkdir(into, { recursive: true });
    const result = await transport.run(['tar', '-xzf', tarball, '-C', into, '--no-same-owner', '--no-same-permissions']);
    if (result.exitCode !== 0) throw new ImageBuildError('layer', `unpacking ${tarball}`, result);
    return join(into, 'package');
  };
  const scratch = join(stage, '.scratch');
  const root = join(stage, 'root');
  const node = await unpack(tarballs.node, join(scratch, 'node'));
  const wrapper = await unpack(tarballs.claudeCode, join(scratch, 'claude-code'));
  const native = await unpack(tarballs.native, join(scratch, 'native'));

  const local = join(root, 'usr', 'local');
  const pkgDir = join(root, ...GUEST_LAYOUT.claudePackage.split('/').filter(Boolean));
  for (const dir of [join(local, 'bin'), join(local, 'share', 'doc', 'node'), join(local, 'share', 'claude-bottle'), join(pkgDir, '..')]) {
    await mkdir(dir, { recursive: true });
  }
  await rename(join(node, 'bin', 'node'), join(root, ...GUEST_LAYOUT.node.split('/').filter(Boolean)));
  await rename(join(node, 'LICENSE'), join(local, 'share', 'doc', 'node', 'LICENSE'));
  await rename(wrapper, pkgDir);
  await rename(join(native, 'claude'), join(pkgDir, 'bin', 'claude.exe'));
  await symlink('../lib/node_modules/@anthropic-ai/claude-code/bin/claude.exe', join(root, ...GUEST_LAYOUT.claude.split('/').filter(Boolean)));
  const manifest = {
    claudeCode: PINS[arch].claudeCode,
    claudeCodeNative: PINS[arch].claudeCodeNative,
    node: PINS[arch].node,
    debian: { suite: DEBIAN.suite, variant: DEBIAN.variant, packages: DEBIAN.packages, arch: DEBIAN_ARCH[arch], versions: '/usr/local/share/claude-bottle/debian-packages.txt' },
    user: AGENT_USER,
  };
  await writeFile(join(root, ...GUEST_LAYOUT.manifest.split('/').filter(Boolean)), `${JSON.stringify(manifest, null, 2)}\n`);
  await rm(scratch, { recursive: true, force: true });
  // Modes as a package manager would leave them, whatever the host umask; `root` maps onto `/`.
  await normalizeModes(root);
  await chmod(join(pkgDir, 'bin', 'claude.exe'), 0o755);
  await chmod(join(root, ...GUEST_LAYOUT.node.split('/').filter(Boolean)), 0o755);
  return root;
}

/** Directories 0755, files 0644 (0755 when any execute bit is set); symlinks untouched. */
async function normalizeModes(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await normalizeModes(path);
    else if (entry.isFile()) await chmod(path, ((await stat(path)).mode & 0o111) !== 0 ? 0o755 : 0o644);
  }
}

/** A pinned npm tarball from the cache, or `npm pack`ed into it; either way checked against the pin's integrity. */
export async function fetchNpmTarball(transport: Transport, pin: NpmPin, dir: string): Promise<{ path: string; cached: boolean }> {
  const file = join(dir, `${pin.name.replace(/^@/, '').replace('/', '-')}-${pin.version}.tgz`);
  if ((await exists(file)) && (await integrityOf(file)) === pin.integrity) return { path: file, cached: true };
  const tmp = join(dir, `.pack-${randomBytes(4).toString('hex')}`);
  await mkdir(tmp, { recursive: true });
  try {
    const result = await transport.run(['npm', 'pack', '--silent', '--pack-destination', tmp, spec(pin)]);
    if (result.exitCode !== 0) throw new ImageBuildError('fetch', `npm pack ${spec(pin)}`, result);
    const [packed] = (await readdir(tmp)).filter((f) => f.endsWith('.tgz'));
    if (packed === undefined) throw new ImageBuildError('fetch', `npm pack ${spec(pin)} left no tarball`, result);
    const integrity = await integrityOf(join(tmp, packed));
    if (integrity !== pin.integrity) {
      throw new ImageBuildError('fetch', `${spec(pin)}: integrity ${integrity} does not match the recipe's ${pin.integrity}`);
    }
    await rename(join(tmp, packed), file);
    return { path: file, cached: false };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * `$CLAUDE_BOTTLE_DEBIAN_MIRROR`, else the first Debian (non-security) mirror in the host's apt
 * sources (one-line or deb822 format): the mirror this machine is set up to reach. No default
 * is guessed; without either, the build says how to name one.
 */
export async function debianMirror(env: Env = process.env, sourcesRoot = '/etc/apt'): Promise<string> {
  const explicit = env[DEBIAN_MIRROR_ENV];
  if (explicit) return explicit;
  const files: string[] = [join(sourcesRoot, 'sources.list')];
  try {
    // apt reads only *.list and *.sources there; anything else (e.g. a disabled file) is not a source.
    for (const f of (await readdir(join(sourcesRoot, 'sources.list.d'))).sort()) {
      if (/\.(list|sources)$/.test(f)) files.push(join(sourcesRoot, 'sources.list.d', f));
    }
  } catch {
    // no sources.list.d
  }
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      continue;
    }
    const uris = [
      ...[...text.matchAll(/^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/gm)].map((m) => ({ uri: m[1] ?? '', suites: m[2] ?? '' })),
      ...[...text.matchAll(/^URIs:\s*(.+)$/gim)].flatMap((m) => (m[1] ?? '').trim().split(/\s+/).map((uri) => ({ uri, suites: '' }))),
    ];
    const found = uris.find(({ uri, suites }) => /^https?:\/\//.test(uri) && !/security/.test(uri) && !/security/.test(suites) && /debian/.test(uri));
    if (found) return found.uri;
  }
  throw new ImageBuildError('rootfs', `no Debian mirror found in ${sourcesRoot}/sources.list*; set ${DEBIAN_MIRROR_ENV} to one (e.g. http://<mirror>/debian)`);
}

interface ImageInfo {
  readonly labels: Readonly<Record<string, string>>;
  readonly size: number;
}

async function inspectImage(transport: Transport, image: string): Promise<ImageInfo | undefined> {
  const result = await transport.run(['docker', 'image', 'inspect', '--format', '{{json .Config.Labels}} {{.Size}}', image]);
  if (result.exitCode !== 0) {
    if (/no such image/i.test(result.stderr)) return undefined;
    throw new ImageBuildError('check', `inspecting ${image}`, result);
  }
  const line = result.stdout.trim();
  const space = line.lastIndexOf(' ');
  const labels = JSON.parse(line.slice(0, space)) as Record<string, string> | null;
  return { labels: labels ?? {}, size: Number(line.slice(space + 1)) };
}

async function integrityOf(file: string): Promise<string> {
  const hash = createHash('sha512');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return `sha512-${hash.digest('base64')}`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

function spec(pin: NpmPin): string {
  return `${pin.name}@${pin.version}`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

function tail(text: string): string {
  const lines = text.trim().split('\n').filter(Boolean).slice(-15);
  return lines.length ? `\n${lines.join('\n')}` : '';
}
