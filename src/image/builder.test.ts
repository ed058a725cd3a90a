// The image build's builder container: created labelled, removed by the id `create` printed,
// and never by name, so a namesake someone else made survives a build that could not start.
import { describe, expect, it } from 'vitest';
import { BUILDER_LABEL, imageArgv } from '../engines/container/images.ts';
import { scriptedTransport } from '../testing/doubles.ts';
import type { CommandResult } from '../transport/types.ts';
import { inBuilder } from './build.ts';
import { BuildRun, ImageBuildError } from './progress.ts';

const ID = 'c0ffee0123456789c0ffee0123456789c0ffee0123456789c0ffee0123456789';

function scripted(reply: (argv: readonly string[]) => Partial<CommandResult>) {
  const { transport, calls } = scriptedTransport(reply);
  return { run: new BuildRun(transport, {}), calls };
}

describe('the builder container', () => {
  it.each(['docker', 'podman'] as const)('%s: labelled, without network; removed by its id, also when the work fails', async (cli) => {
    const { run, calls } = scripted((argv) => (argv[1] === 'create' ? { stdout: `${ID}\n` } : {}));
    const used: string[] = [];
    await expect(
      inBuilder(run, imageArgv(cli), 'claude-bottle-image-build-1', 'base:1', async (id) => {
        used.push(id);
        throw new Error('copy failed');
      }),
    ).rejects.toThrow('copy failed');
    expect(used).toEqual([ID]);
    expect(calls).toEqual([
      [cli, 'create', '--pull', 'never', '--network', 'none', '--label', `${BUILDER_LABEL}=1`, '--name', 'claude-bottle-image-build-1', 'base:1', 'true'],
      [cli, 'rm', '-f', ID],
    ]);
  });

  it('a name already taken: the create fails and nothing is removed (the container of that name is not ours)', async () => {
    const { run, calls } = scripted((argv) =>
      argv[1] === 'create'
        ? { exitCode: 125, stderr: 'docker: Error response from daemon: Conflict. The container name "/claude-bottle-image-build-1" is already in use.\n' }
        : {},
    );
    const error = await inBuilder(run, imageArgv('docker'), 'claude-bottle-image-build-1', 'base:1', async () => 'never').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageBuildError);
    expect(calls.map((c) => c[1])).toEqual(['create']);
  });

  it('a create that prints no id removes nothing either', async () => {
    const { run, calls } = scripted(() => ({ stdout: 'claude-bottle-image-build-1\n' }));
    await expect(inBuilder(run, imageArgv('docker'), 'claude-bottle-image-build-1', 'base:1', async () => 'never')).rejects.toThrow(/not a container id/);
    expect(calls.map((c) => c[1])).toEqual(['create']);
  });
});
