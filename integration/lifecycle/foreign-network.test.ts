/**
 * On Docker, a network someone else made under the name a launch's route would use: the launch
 * fails at `route`, and neither that network nor a foreign container under the bottle's name is
 * touched by the rollback.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { parseAgentSpec } from '../../src/agent/spec.ts';
import { launch, LaunchError } from '../../src/bottle/launch.ts';
import { DockerEngine } from '../../src/engines/docker/engine.ts';
import { prepare } from '../../src/plan/prepare.ts';
import { createProcessTransport } from '../../src/transport/process.ts';

const docker = inject('docker');
const run = randomBytes(3).toString('hex');
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const undo of cleanups.reverse()) await undo();
});

describe('a foreign network in the way of a route', () => {
  it('fails the launch at route and leaves the network and a foreign namesake container as they were', async (ctx) => {
    if (docker.engine !== 'ready') {
      if (process.env.CI === 'true') throw new Error(`Docker tests must run in CI: ${docker.reason}`);
      return ctx.skip(docker.reason);
    }
    const dir = await mkdtemp(join(tmpdir(), 'cb-foreign-net-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const launchId = `${run}0000000000`;
    const network = `claude-bottle-${launchId}`;
    const name = `foreign-${run}`;
    await execa('docker', ['network', 'create', '--internal', '--label', `test.run=${run}`, network]);
    cleanups.push(() => execa('docker', ['network', 'rm', network], { reject: false }));
    await execa('docker', ['create', '--pull', 'never', '--name', name, '--label', `test.run=${run}`, docker.image, 'sleep', '1000']);
    cleanups.push(() => execa('docker', ['rm', '-f', name], { reject: false }));
    const inspect = async () => [
      (await execa('docker', ['network', 'inspect', network])).stdout,
      (await execa('docker', ['container', 'inspect', name])).stdout,
    ];
    const before = await inspect();

    const plan = await prepare(parseAgentSpec({ name: `fn-${run}`, image: docker.image, supervise: {} }), {
      env: { HOME: join(dir, 'home'), CLAUDE_BOTTLE_STATE_DIR: join(dir, 'state') },
    });
    const engine = new DockerEngine({ transport: createProcessTransport() });
    // The race: the name check passes (the container appears just after it), then the route's network is taken.
    const hidden = new Proxy(engine, {
      get(target, prop) {
        if (prop === 'status') return async (n: string) => (n === name ? undefined : target.status(n));
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const error = await launch(plan, { engine: hidden, name, launchId }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LaunchError);
    expect(error).toMatchObject({ step: 'route', rollbackError: undefined });
    expect(await inspect()).toEqual(before);
  });
});
