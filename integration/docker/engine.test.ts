import { randomBytes } from 'node:crypto';
import { readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { afterAll, describe, expect, inject, it, type TestContext } from 'vitest';
import { DockerError } from '../../src/engines/docker/errors.ts';
import { DockerEngine } from '../../src/engines/docker/engine.ts';
import type { MachineConfig } from '../../src/engine/types.ts';
import { injectFaults } from '../../src/testing/doubles.ts';
import { describeEngineContract, recordCalls } from '../../src/testing/engine-contract.ts';
import { createProcessTransport } from '../../src/transport/process.ts';
import type { Transport } from '../../src/transport/types.ts';
import { CONTENT_LABEL, ensureTestImage } from './image.ts';

const setup = inject('docker');
const inCI = process.env.CI === 'true';
const skipReason = setup.engine === 'ready' ? undefined : setup.reason;

describe('docker engine availability', () => {
  it('a Docker engine answers and the test image is ready', (ctx) => {
    if (setup.engine === 'ready') return;
    if (setup.engine === 'broken') throw new Error(setup.reason);
    if (inCI) throw new Error(`Docker tests must run in CI: ${setup.reason}. Run .ci/docker.sh first.`);
    ctx.skip(setup.reason);
  });
});

describeEngineContract(
  'docker',
  () => {
    // A faulted call answers as the daemon's own failure, and never reaches docker.
    const transportFaults = injectFaults(createProcessTransport(), () => ({
      exitCode: 1,
      stderr: 'Error response from daemon: injected fault (engine contract)\n',
    }));
    const { transport, calls } = recordCalls(transportFaults.transport);
    return { engine: new DockerEngine({ transport }), image: readyImage(), calls, transportFaults };
  },
  skipReason !== undefined ? { skip: skipReason } : {},
);

describe('docker engine specifics', () => {
  const run = randomBytes(3).toString('hex');
  const transport: Transport = createProcessTransport();
  const engine = new DockerEngine({ transport });
  const names = new Set<string>();
  const images = new Set<string>();

  const machineName = (role: string): string => {
    const name = `cbd-${run}-${role}`;
    names.add(name);
    return name;
  };
  const config = (name: string, extra: Partial<MachineConfig> = {}): MachineConfig => ({
    name,
    image: readyImage(),
    labels: { 'claude-bottle.docker-test': run },
    network: { enabled: false, allowHosts: [], allowCidrs: [] },
    ...extra,
  });
  const docker = async (...args: string[]): Promise<string> => {
    const result = await transport.run(['docker', ...args]);
    expect(result.exitCode, `docker ${args.join(' ')}: ${result.stderr}`).toBe(0);
    return result.stdout.trim();
  };
  const test = (title: string, body: () => Promise<void>): void => {
    it(title, async (ctx: TestContext) => {
      if (skipReason !== undefined) ctx.skip(skipReason);
      await body();
    });
  };

  afterAll(async () => {
    if (skipReason !== undefined) return;
    for (const name of names) await engine.remove(name);
    for (const image of images) await transport.run(['docker', 'image', 'rm', '-f', image]);
  });

  test('the test image: busybox applets, users and owned homes; unchanged content is not rebuilt', async () => {
    const again = await ensureTestImage(transport);
    expect(again).toMatchObject({ image: readyImage(), built: false });
    expect(await docker('image', 'inspect', '--format', `{{index .Config.Labels "${CONTENT_LABEL}"}}`, readyImage())).toBe(again.contentHash);

    const name = machineName('image');
    await engine.create(config(name));
    await engine.start(name);
    const layout = await engine.exec(name, [
      'sh',
      '-c',
      "stat -c '%n %a %u %g' /root /home/node /tmp; id -u node; id -g node; for a in sh tar chown chmod stat id cat sleep printf; do command -v $a; done",
    ]);
    expect(layout).toMatchObject({ exitCode: 0, stderr: '' });
    expect(layout.stdout.split('\n').slice(0, 5)).toEqual(['/root 700 0 0', '/home/node 755 1000 1000', '/tmp 1777 0 0', '1000', '1000']);
    expect(layout.stdout.split('\n').slice(5).filter(Boolean)).toHaveLength(9);
  });

  test('a missing image is a clear image-missing error, nothing pulled and nothing created', async () => {
    const name = machineName('noimage');
    const image = `claude-bottle-test/never-built-${run}:1`;
    const error = await engine.create(config(name, { image })).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DockerError);
    expect(error).toMatchObject({ kind: 'image-missing', name: 'DockerError' });
    expect((error as Error).message).toContain(`image ${image} is not present locally, and claude-bottle never pulls images`);
    expect((error as Error).message).toContain(`docker pull ${image}`);
    expect((error as DockerError).argv).toContain('never');
    expect(await engine.status(name)).toBeUndefined();
    expect((await transport.run(['docker', 'image', 'inspect', image])).exitCode).not.toBe(0);
  });

  test('labels, resources and the bottle marker are on the container; list sees only bottles', async () => {
    const name = machineName('labels');
    await engine.create(config(name, { labels: { 'claude-bottle.docker-test': run, agent: 'reviewer' }, cpus: 1.5, memMib: 256 }));
    const labels = JSON.parse(await docker('container', 'inspect', '--format', '{{json .Config.Labels}}', name)) as Record<string, string>;
    expect(labels).toMatchObject({ 'claude-bottle': '1', 'claude-bottle.docker-test': run, agent: 'reviewer' });
    expect(await docker('container', 'inspect', '--format', '{{.HostConfig.NanoCpus}} {{.HostConfig.Memory}}', name)).toBe(`${1.5e9} ${256 * 1024 * 1024}`);

    // A container made without claude-bottle, even with the same test label, is not a bottle.
    const foreign = `cbd-${run}-foreign`;
    names.add(foreign);
    await docker(
      'create',
      '--pull',
      'never',
      '--name',
      foreign,
      '--label',
      `claude-bottle.docker-test=${run}`,
      '--label',
      'agent=reviewer',
      readyImage(),
      'true',
    );
    expect((await engine.list({ 'claude-bottle.docker-test': run, agent: 'reviewer' })).map((m) => m.name)).toEqual([name]);
    expect((await engine.list()).map((m) => m.name)).toContain(name);
    expect((await engine.list()).map((m) => m.name)).not.toContain(foreign);
  });

  test('network: disabled is --network none, enabled is the default bridge', async () => {
    const offline = machineName('offline');
    const online = machineName('online');
    await engine.create(config(offline));
    await engine.create(config(online, { network: { enabled: true, allowHosts: [], allowCidrs: [] } }));
    expect(await docker('container', 'inspect', '--format', '{{.HostConfig.NetworkMode}}', offline)).toBe('none');
    expect(await docker('container', 'inspect', '--format', '{{.HostConfig.NetworkMode}}', online)).toMatch(/^(default|bridge)$/);
    await engine.start(offline);
    await engine.start(online);
    const interfaces = async (name: string) => (await engine.exec(name, ['cat', '/proc/net/dev'])).stdout.match(/^\s*(\w+):/gm)?.map((s) => s.trim());
    expect(await interfaces(offline)).toEqual(['lo:']);
    expect(await interfaces(online)).toContain('eth0:');
  });

  test('the machine user and a per-exec user', async () => {
    const name = machineName('user');
    await engine.create(config(name, { user: { name: 'node', uid: 1000, gid: 1000, home: '/home/node' }, workdir: '/home/node' }));
    await engine.start(name);
    expect((await engine.exec(name, ['sh', '-c', 'id -u; id -g; pwd; echo "$HOME"'])).stdout).toBe('1000\n1000\n/home/node\n/home/node\n');
    expect((await engine.exec(name, ['id', '-u'], { user: { uid: 0, gid: 0 } })).stdout).toBe('0\n');
  });

  test('the keep-alive ignores the image entrypoint and stops at once', async () => {
    const image = `claude-bottle-test/entrypoint-false-${run}:1`;
    const seed = machineName('seed');
    await docker('create', '--pull', 'never', '--name', seed, readyImage(), 'true');
    await docker('commit', '--change', 'ENTRYPOINT ["/bin/false"]', seed, image);
    images.add(image);

    const name = machineName('entrypoint');
    await engine.create(config(name, { image }));
    await engine.start(name);
    expect((await engine.status(name))?.state).toBe('running');
    const started = performance.now();
    await engine.stop(name);
    expect(performance.now() - started).toBeLessThan(2500); // `docker stop -t 3` would wait 3 s for an ignored TERM
    expect(await docker('container', 'inspect', '--format', '{{.State.ExitCode}}', name)).toBe('0');
  });

  test("docker's own failures throw; a missing guest binary is the guest's answer: 127, as on every engine", async () => {
    const name = machineName('failures');
    await engine.create(config(name));
    await engine.start(name);
    // docker exits 126 for it and 20.10 prints the runtime's message on stdout: the adapter makes it 127, on stderr.
    const missing = await engine.exec(name, ['no-such-binary']);
    expect(missing).toMatchObject({ exitCode: 127, stdout: '', stderr: expect.stringMatching(/"no-such-binary": executable file not found/) });
    // A file that exists but cannot be run stays 126, as a shell says it.
    expect((await engine.exec(name, ['/etc/passwd'])).exitCode).toBe(126);

    await engine.stop(name);
    await expect(engine.exec(name, ['true'])).rejects.toMatchObject({ name: 'DockerError', kind: 'not-running' });
    const file = `${tmpdir()}/cbd-${run}-upload`;
    await writeFile(file, 'x');
    // Unlike smolvm's cp, docker cp writes into a stopped container's filesystem: one call, no probe.
    await engine.upload(name, file, '/tmp/sub/x', { mode: 0o640, uid: 1000, gid: 1000 });
    await engine.start(name);
    expect((await engine.exec(name, ['stat', '-c', '%a %u %g', '/tmp/sub/x', '/tmp/sub'])).stdout).toBe('640 1000 1000\n755 0 0\n');
    await engine.stop(name);
    await expect(engine.create(config(name))).rejects.toMatchObject({ name: 'DockerError', kind: 'already-exists' });
  });

  test('guest env names the docker CLI reads go through a private env-file, removed afterwards', async () => {
    const name = machineName('clienv');
    await engine.create(config(name, { env: { DOCKER_HOST: 'tcp://guest-only:2375' } }));
    await engine.start(name);
    const envDirs = async () => (await readdir(tmpdir())).filter((f) => f.startsWith('claude-bottle-env-'));
    const before = await envDirs();
    const result = await engine.exec(name, ['sh', '-c', 'printf "%s|%s" "$DOCKER_HOST" "$HTTPS_PROXY"'], {
      env: { HTTPS_PROXY: 'http://proxy.invalid:3128' },
    });
    expect(result).toMatchObject({ exitCode: 0, stdout: 'tcp://guest-only:2375|http://proxy.invalid:3128' });
    expect(await envDirs()).toEqual(before);
  });

  test('DOCKER_HOST is honoured: an engine pointed at a missing socket fails clearly', async () => {
    const socket = `/tmp/cbd-${run}-no-such-docker.sock`;
    const viaOption = new DockerEngine({ transport, env: { DOCKER_HOST: `unix://${socket}` } });
    const viaProcessEnv = new DockerEngine({ transport: createProcessTransport({ env: { ...process.env, DOCKER_HOST: `unix://${socket}` } }) });
    for (const unreachable of [viaOption, viaProcessEnv]) {
      await expect(unreachable.serverVersion()).rejects.toThrow(socket);
      // Unreachable is not "no such machine": status must not answer undefined.
      await expect(unreachable.status(`cbd-${run}-any`)).rejects.toMatchObject({ name: 'DockerError', kind: 'unknown' });
      await expect(unreachable.exec(`cbd-${run}-any`, ['true'])).rejects.toThrow(/Cannot connect to the Docker daemon|failed to connect/);
    }
  });
});

function readyImage(): string {
  if (setup.engine !== 'ready') throw new Error(`docker test image unavailable: ${setup.reason}`);
  return setup.image;
}
