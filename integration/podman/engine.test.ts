/** The engine contract against real podman, as root, with the busybox test image. */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it, type TestContext } from 'vitest';
import type { MachineConfig } from '../../src/engine/types.ts';
import { podmanEnvironment } from '../../src/engines/podman/containers-conf.ts';
import { PodmanEngine, PodmanError } from '../../src/engines/podman/engine.ts';
import { injectFaults } from '../../src/testing/doubles.ts';
import { describeEngineContract, recordCalls } from '../../src/testing/engine-contract.ts';
import { createProcessTransport } from '../../src/transport/process.ts';

const setup = inject('podman');
const skipReason = setup.engine === 'ready' ? undefined : setup.reason;

describe('podman availability', () => {
  it('podman runs and the test image is ready', (ctx) => {
    if (setup.engine === 'ready') return;
    if (setup.engine === 'broken') throw new Error(setup.reason);
    if (process.env.CI === 'true') throw new Error(`Podman tests must run in CI: ${setup.reason}. Install podman first (.ci/run does).`);
    ctx.skip(setup.reason);
  });
});

describeEngineContract(
  'podman',
  () => {
    if (setup.engine !== 'ready') throw new Error(`podman test image unavailable: ${setup.reason}`);
    // A faulted call answers as podman's own failure (exit 125, an `Error:` line), and never reaches podman.
    const transportFaults = injectFaults(createProcessTransport(), () => ({ exitCode: 125, stderr: 'Error: injected fault (engine contract)\n' }));
    const { transport, calls } = recordCalls(transportFaults.transport);
    return { engine: new PodmanEngine({ transport }), image: setup.image, calls, transportFaults };
  },
  skipReason !== undefined ? { skip: skipReason } : {},
);

describe('podman engine specifics', () => {
  const run = randomBytes(3).toString('hex');
  const transport = createProcessTransport();
  const engine = new PodmanEngine({ transport });
  const names = new Set<string>();
  const machineName = (role: string): string => {
    const name = `cbp-${run}-${role}`;
    names.add(name);
    return name;
  };
  const config = (name: string, extra: Partial<MachineConfig> = {}): MachineConfig => ({
    name,
    image: readyImage(),
    labels: { 'claude-bottle.podman-test': run },
    network: { enabled: false, allowHosts: [], allowCidrs: [] },
    ...extra,
  });
  const podman = async (...args: string[]): Promise<string> => {
    const result = await transport.run(['podman', ...args], { env: (await podmanEnvironment()).env });
    expect(result.exitCode, `podman ${args.join(' ')}: ${result.stderr}`).toBe(0);
    return result.stdout.trim();
  };
  const test = (title: string, body: () => Promise<void>): void => {
    it(title, async (ctx: TestContext) => {
      if (skipReason !== undefined) return ctx.skip(skipReason);
      await body();
    }, 60_000);
  };

  afterAll(async () => {
    if (skipReason !== undefined) return;
    for (const name of names) await engine.remove(name);
  });

  test('a missing image is a clear image-missing error, nothing pulled and nothing created', async () => {
    const name = machineName('noimage');
    const image = `claude-bottle-test/never-built-${run}:1`;
    const error = await engine.create(config(name, { image })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PodmanError);
    expect(error).toMatchObject({ kind: 'image-missing', argv: expect.arrayContaining(['--pull', 'never']) });
    expect((error as Error).message).toContain(`image ${image} is not present locally, and claude-bottle never pulls images`);
    expect(await engine.status(name)).toBeUndefined();
    expect((await transport.run(['podman', 'image', 'exists', image])).exitCode).toBe(1);
  });

  test('labels and the bottle marker are on the container; list sees only bottles; the network is none unless asked', async () => {
    const name = machineName('labels');
    await engine.create(config(name, { labels: { 'claude-bottle.podman-test': run, agent: 'reviewer' } }));
    const labels = JSON.parse(await podman('container', 'inspect', '--format', '{{json .Config.Labels}}', name)) as Record<string, string>;
    expect(labels).toMatchObject({ 'claude-bottle': '1', 'claude-bottle.podman-test': run, agent: 'reviewer' });
    const foreign = machineName('foreign');
    await podman('create', '--pull', 'never', '--name', foreign, '--label', `claude-bottle.podman-test=${run}`, readyImage(), 'true');
    expect((await engine.list({ 'claude-bottle.podman-test': run })).map((m) => m.name)).toEqual([name]);
    await engine.start(name);
    expect((await engine.exec(name, ['cat', '/proc/net/dev'])).stdout.match(/^\s*(\w+):/gm)?.map((s) => s.trim())).toEqual(['lo:']);
  });

  test("podman's own failures throw with their kind; the keep-alive stops at once", async () => {
    const name = machineName('failures');
    await engine.create(config(name));
    await expect(engine.create(config(name))).rejects.toMatchObject({ name: 'PodmanError', kind: 'already-exists' });
    await engine.start(name);
    const started = performance.now();
    await engine.stop(name);
    expect(performance.now() - started).toBeLessThan(2500);
    // podman 4.3 exits 255 here, not 125: still podman's own failure.
    await expect(engine.exec(name, ['true'])).rejects.toMatchObject({ name: 'PodmanError', kind: 'not-running' });
    // Uploads reach a stopped container, with the tar's owner (podman cp --archive=false).
    const file = join(tmpdir(), `cbp-${run}-upload`);
    await writeFile(file, 'x');
    await engine.upload(name, file, '/tmp/sub/x', { mode: 0o640, uid: 1000, gid: 1000 });
    await engine.start(name);
    expect((await engine.exec(name, ['stat', '-c', '%a %u %g', '/tmp/sub/x', '/tmp/sub'])).stdout).toBe('640 1000 1000\n755 0 0\n');
    expect((await engine.exec(name, ['/etc/passwd'])).exitCode).toBe(126);
  });

  test("guest env names podman reads itself (CONTAINERS_CONF, CONTAINER_HOST) reach the guest through an env-file, not podman's environment", async () => {
    const name = machineName('clienv');
    await engine.create(config(name, { env: { CONTAINERS_CONF: '/guest/only.conf' } }));
    await engine.start(name);
    const result = await engine.exec(name, ['sh', '-c', 'printf "%s|%s" "$CONTAINERS_CONF" "$CONTAINER_HOST"'], {
      env: { CONTAINER_HOST: 'unix:///guest/only.sock' },
    });
    expect(result).toMatchObject({ exitCode: 0, stdout: '/guest/only.conf|unix:///guest/only.sock' });
  });
});

function readyImage(): string {
  if (setup.engine !== 'ready') throw new Error(`podman test image unavailable: ${setup.reason}`);
  return setup.image;
}
