// Containers claude-bottle did not create are not its to list or remove. testcontainers plays the
// foreign party here: an independent client starting a container from the same local image.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GenericContainer, PullPolicy, type StartedTestContainer } from 'testcontainers';
import { afterAll, describe, expect, inject, it, type TestContext } from 'vitest';
import { stateRoot } from '../../src/host/state.ts';
import { main } from '../../src/cli/main.ts';
import { DockerEngine } from '../../src/engines/docker/engine.ts';
import { BOTTLE_LABEL } from '../../src/engine/types.ts';
import { createProcessTransport } from '../../src/transport/process.ts';

process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
const setup = inject('docker');
const reason = setup.engine === 'ready' ? undefined : setup.reason;

/** Like every other Docker suite: skipped without Docker locally, a failure in CI or when the test image is broken. */
function gate(ctx: TestContext): void {
  if (reason === undefined) return;
  if (setup.engine === 'broken') throw new Error(reason);
  if (process.env.CI === 'true') throw new Error(`Docker tests must run in CI: ${reason}. Run .ci/docker.sh first.`);
  ctx.skip(reason);
}

describe('containers claude-bottle did not create', () => {
  let foreign: StartedTestContainer | undefined;
  let work = '';
  afterAll(async () => {
    await foreign?.stop({ remove: true });
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('are neither listed by the docker engine nor removable through the CLI', async (ctx) => {
    gate(ctx);
    if (setup.engine !== 'ready') return;
    foreign = await new GenericContainer(setup.image)
      .withPullPolicy(PullPolicy.defaultPolicy())
      .withEntrypoint(['sh', '-c', 'trap "exit 0" TERM; sleep 600 & wait'])
      .withLabels({ 'example.owner': 'someone-else' })
      .start();
    const engine = new DockerEngine({ transport: createProcessTransport() });
    const name = foreign.getName().replace(/^\//, '');
    expect((await engine.status(name))?.state).toBe('running');
    expect((await engine.list({ [BOTTLE_LABEL]: '1' })).map((m) => m.name)).not.toContain(name);

    work = await mkdtemp(join(tmpdir(), 'claude-bottle-foreign-'));
    const env = { ...process.env, CLAUDE_BOTTLE_STATE_DIR: join(work, 'state') };
    expect(stateRoot(env)).toBe(join(work, 'state'));
    const stderr: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => {
      stderr.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    try {
      expect(await main(['rm', name], env)).toBe(1);
    } finally {
      process.stderr.write = write;
    }
    expect(stderr.join('')).toContain(`no bottle named "${name}"`);
    expect((await engine.status(name))?.state).toBe('running');
  });
});
