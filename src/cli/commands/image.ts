import type { ImageCli } from '../../engines/container/images.ts';
import { agentImageStatus, buildAgentImage, imageCacheDir } from '../../image/build.ts';
import { AGENT_IMAGE } from '../../image/recipe.ts';
import { createProcessTransport } from '../../transport/process.ts';
import { EXIT, type Io, UsageError } from '../io.ts';

/** `image build [--force]`: build (or confirm) the agent image; `image status`: is it there and current. */
export async function imageCommand(io: Io, args: { action: string | undefined; force: boolean; backend?: string | undefined }): Promise<number> {
  const engine = imageEngine(args.backend);
  // podman's calls carry its containers.conf decision (see `doctor`), as every podman call of claude-bottle does.
  const engineEnv = engine === 'podman' ? (await (await import('../../engines/podman/containers-conf.ts')).podmanEnvironment(io.env)).env : {};
  const transport = createProcessTransport({ env: { ...io.env, ...engineEnv } });
  switch (args.action) {
    case 'build': {
      // A build takes a minute or two: progress goes to stderr whether or not it is a terminal.
      const build = await buildAgentImage({
        transport,
        env: io.env,
        force: args.force,
        engine,
        onProgress: (p) => io.stderr.write(`[${(p.elapsedMs / 1000).toFixed(1).padStart(5)}s] ${p.step.padEnd(6)} ${p.message}\n`),
      });
      io.data({ ...build, cacheDir: imageCacheDir(io.env) });
      io.result(
        [
          `${build.built ? 'built' : 'up to date'}: ${build.tags.join(', ')}`,
          `  content   ${build.contentHash.slice(0, 12)} (claude-code ${build.claudeCodeVersion}, node ${build.nodeVersion})`,
          `  size      ${megabytes(build.sizeBytes)}`,
          `  time      ${(build.durationMs / 1000).toFixed(1)}s${build.built ? ` (${build.steps.map((s) => `${s.step} ${(s.durationMs / 1000).toFixed(1)}s${s.cached ? ' cached' : ''}`).join(', ')})` : ''}`,
          `  cache     ${imageCacheDir(io.env)}`,
          `use it: image: ${AGENT_IMAGE} in an agent file (runs as node, home /home/node); smolvm: scripts/smolvm-image.sh`,
        ].join('\n'),
      );
      return EXIT.ok;
    }
    case 'status': {
      if (args.force) throw new UsageError('image status does not take --force');
      const status = await agentImageStatus(transport, { engine });
      io.data(status);
      io.result(imageStatusLine(status, engine));
      return status.current ? EXIT.ok : EXIT.failure;
    }
    default:
      throw new UsageError(`image needs an action: build or status${args.action ? ` (got ${JSON.stringify(args.action)})` : ''}`);
  }
}

export function imageStatusLine(status: Awaited<ReturnType<typeof agentImageStatus>>, engine: ImageCli = 'docker'): string {
  const build = `claude-bottle image build${engine === 'docker' ? '' : ` --backend ${engine}`}`;
  if (!status.present) return `${status.image} not built; run \`${build}\``;
  const what = `${status.image} (claude-code ${status.claudeCodeVersion ?? '?'}, node ${status.nodeVersion ?? '?'}, ${megabytes(status.sizeBytes ?? 0)})`;
  return status.current ? `${what} — ok` : `${what} — stale, built from another recipe; run \`${build}\``;
}

function imageEngine(backend: string | undefined): ImageCli {
  if (backend === undefined || backend === 'docker') return 'docker';
  if (backend === 'podman') return 'podman';
  throw new UsageError(`image --backend must be docker or podman; got ${JSON.stringify(backend)}`);
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(0)} MB`;
}
