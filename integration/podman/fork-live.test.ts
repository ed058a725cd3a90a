/**
 * Forking a running golden on real Docker and real Podman: the commit pauses it, never stops it,
 * so a command running in the golden when the fork is taken runs to its end, and the clone has
 * the golden's files as they were.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, inject, it, type TestContext } from 'vitest';
import type { ForkBase } from '../../src/engine/types.ts';
import type { ContainerEngine } from '../../src/engines/container/engine.ts';
import { DockerEngine } from '../../src/engines/docker/engine.ts';
import { PodmanEngine } from '../../src/engines/podman/engine.ts';
import { createProcessTransport } from '../../src/transport/process.ts';

const run = randomBytes(3).toString('hex');
const docker = inject('docker');
const podman = inject('podman');
const sides: { kind: string; engine: ContainerEngine; image: string; skip?: string; broken?: string }[] = [
  {
    kind: 'docker',
    engine: new DockerEngine({ transport: createProcessTransport(), firewall: 'off' }),
    image: docker.engine === 'ready' ? docker.image : '',
    ...(docker.engine !== 'ready' ? { skip: docker.reason } : {}),
    ...(docker.engine === 'broken' ? { broken: docker.reason } : {}),
  },
  {
    kind: 'podman',
    engine: new PodmanEngine({ transport: createProcessTransport(), firewall: 'off' }),
    image: podman.engine === 'ready' ? podman.image : '',
    ...(podman.engine !== 'ready' ? { skip: podman.reason } : {}),
    ...(podman.engine === 'broken' ? { broken: podman.reason } : {}),
  },
];

for (const side of sides) {
  describe(`fork on ${side.kind}`, () => {
    const { engine } = side;
    const golden = `cbfl-${side.kind}-${run}`;
    const clone = `${golden}-f1`;
    const labels = { 'claude-bottle.fork-live-test': run };
    const network = { enabled: false, allowHosts: [], allowCidrs: [] };
    let base: ForkBase | undefined;

    const gate = (ctx: TestContext): void => {
      if (side.skip === undefined) return;
      if (side.broken !== undefined) throw new Error(side.broken);
      if (process.env.CI === 'true') throw new Error(`${side.kind} tests must run in CI: ${side.skip}`);
      ctx.skip(side.skip);
    };

    afterAll(async () => {
      if (side.skip !== undefined) return;
      for (const name of [clone, golden]) await engine.remove(name).catch(() => undefined);
      if (base) await engine.removeForkBase(base).catch(() => undefined);
    });

    it("pauses the golden for the commit: a command running in it finishes, and the clone has the golden's files", async (ctx) => {
      gate(ctx);
      await engine.create({ name: golden, image: side.image, labels, network });
      await engine.start(golden);
      expect((await engine.exec(golden, ['sh', '-c', 'echo before > /tmp/note'])).exitCode).toBe(0);
      // Long enough to be running while the fork is taken; a stop would end it (143, or the engine's error).
      const inFlight = engine.exec(golden, ['sh', '-c', 'sleep 3; echo survived'], { timeoutMs: 60_000 });
      await new Promise((resolve) => setTimeout(resolve, 500));
      const made = await engine.fork(golden, [{ name: clone, labels, network }], { labels });
      base = made.base;
      expect(await inFlight).toMatchObject({ exitCode: 0, stdout: 'survived\n' });
      expect((await engine.status(golden))?.state).toBe('running');
      expect((await engine.exec(clone, ['cat', '/tmp/note'])).stdout).toBe('before\n');
    });
  });
}
