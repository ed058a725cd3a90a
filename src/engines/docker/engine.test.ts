import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packTar, unpackTar } from '../../archive/tar.ts';
import { KEEP_ALIVE } from '../container/argv.ts';
import { DockerError } from './errors.ts';
import type { CommandResult, RunOptions, Transport } from '../../transport/types.ts';
import { DockerEngine } from './engine.ts';
import type { MachineConfig } from '../../engine/types.ts';

interface Call {
  readonly argv: readonly string[];
  readonly options: RunOptions;
  /** The env-file's content while the call ran, if it named one. */
  readonly envFile?: string;
  /** Its permission bits and its directory's, while the call ran. */
  readonly envFileModes?: readonly [number, number];
}

/** Answers each docker call from `reply`, recording argv and options. */
function scriptedTransport(reply: (argv: readonly string[]) => Partial<CommandResult> = () => ({})) {
  const calls: Call[] = [];
  const transport: Transport = {
    async run(argv, options = {}) {
      const fileIndex = argv.indexOf('--env-file');
      const envFilePath = fileIndex >= 0 ? argv[fileIndex + 1] : undefined;
      calls.push({
        argv,
        options,
        ...(envFilePath
          ? {
              envFile: readFileSync(envFilePath, 'utf8'),
              envFileModes: [statSync(envFilePath).mode & 0o777, statSync(dirname(envFilePath)).mode & 0o777] as const,
            }
          : {}),
      });
      const r = reply(argv);
      const stdout = r.stdout ?? '';
      return {
        argv,
        exitCode: 0,
        stderr: '',
        durationMs: 1,
        timedOut: false,
        ...r,
        stdout,
        stdoutBytes: r.stdoutBytes ?? new TextEncoder().encode(stdout),
      };
    },
  };
  return { transport, calls };
}

const machine = (extra: Partial<MachineConfig> = {}): MachineConfig => ({
  name: 'm1',
  image: 'img:1',
  labels: { agent: 'rev' },
  network: { enabled: false, allowHosts: [], allowCidrs: [] },
  ...extra,
});

const inspectJson = (status: string, labels: Record<string, string> | null = { 'claude-bottle': '1' }) =>
  JSON.stringify([{ Id: 'abc', Name: '/m1', State: { Status: status, ExitCode: 0 }, Config: { Image: 'img:1', Labels: labels } }]);

describe('DockerEngine', () => {
  let hostDir = '';
  beforeAll(async () => {
    hostDir = await mkdtemp(join(tmpdir(), 'docker-engine-test-'));
  });
  afterAll(async () => {
    await rm(hostDir, { recursive: true, force: true });
  });

  it('create sends env names in argv and values in the CLI env, layered over the engine env', async () => {
    const { transport, calls } = scriptedTransport();
    const engine = new DockerEngine({ transport, env: { DOCKER_HOST: 'unix:///run/user.sock' } });
    await engine.create(machine({ env: { TOKEN: 'sk-secret', HOME: '/home/node' }, user: { name: 'node', uid: 1000, gid: 1000, home: '/home/node' } }));
    const [call] = calls;
    expect(call?.argv).toEqual([
      'docker',
      'create',
      '--pull',
      'never',
      '--name',
      'm1',
      '--label',
      'claude-bottle=1',
      '--label',
      'agent=rev',
      '--network',
      'none',
      '--user',
      '1000:1000',
      '--env-file',
      expect.stringMatching(/\/claude-bottle-upload-[^/]+\/env$/),
      '-e',
      'TOKEN',
      '--entrypoint',
      'sh',
      'img:1',
      ...KEEP_ALIVE,
    ]);
    expect(call?.options.env).toEqual({ DOCKER_HOST: 'unix:///run/user.sock', TOKEN: 'sk-secret' });
    expect(call?.envFile).toBe('HOME=/home/node\n');
    // Private while docker reads it: the file 0600, in a directory of its own 0700.
    expect(call?.envFileModes).toEqual([0o600, 0o700]);
    expect(calls.flatMap((c) => c.argv).join(' ')).not.toContain('sk-secret');
    // Gone once the call returned, with its directory.
    const envFile = String(call?.argv[call.argv.indexOf('--env-file') + 1]);
    expect([existsSync(envFile), existsSync(dirname(envFile))]).toEqual([false, false]);
  });

  it('any network wish is the default bridge until allow-lists arrive', async () => {
    const { transport, calls } = scriptedTransport();
    const engine = new DockerEngine({ transport });
    await engine.create(machine({ network: { enabled: true, allowHosts: [], allowCidrs: [] } }));
    await engine.create(machine({ network: { enabled: false, allowHosts: ['api.anthropic.com'], allowCidrs: [] } }));
    for (const call of calls) expect(call.argv).not.toContain('--network');
  });

  it('a missing image is image-missing and says nothing is pulled', async () => {
    const { transport } = scriptedTransport(() => ({ exitCode: 1, stderr: 'Error response from daemon: No such image: img:1\n' }));
    const error = await new DockerEngine({ transport }).create(machine()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DockerError);
    expect(error).toMatchObject({ kind: 'image-missing' });
    expect((error as Error).message).toMatch(/^image img:1 is not present locally, and claude-bottle never pulls images\. .*docker pull img:1/);
  });

  it('remove treats an unknown container as done, other failures as errors', async () => {
    let stderr = 'Error: No such container: m1\n';
    const { transport } = scriptedTransport(() => ({ exitCode: 1, stderr }));
    const engine = new DockerEngine({ transport });
    await expect(engine.remove('m1')).resolves.toBeUndefined();
    stderr = 'Cannot connect to the Docker daemon at unix:///x.sock. Is the docker daemon running?\n';
    await expect(engine.remove('m1')).rejects.toBeInstanceOf(DockerError);
  });

  it("exec returns the guest's exit and output, and throws docker's own failures", async () => {
    let reply: Partial<CommandResult> = { exitCode: 3, stdout: 'out', stderr: 'Error response from daemon: lookalike\n' };
    const { transport, calls } = scriptedTransport(() => reply);
    const engine = new DockerEngine({ transport });
    // Exit 3 is never docker's own failure, whatever stderr says.
    expect(await engine.exec('m1', ['sh', '-c', 'exit 3'], { env: { K: 'v' }, stdin: 'in', timeoutMs: 5000, workdir: '/w' })).toEqual({
      exitCode: 3,
      stdout: 'out',
      stderr: 'Error response from daemon: lookalike\n',
      stdoutBytes: new TextEncoder().encode('out'),
    });
    expect(calls[0]?.argv).toEqual(['docker', 'exec', '-i', '-e', 'K', '-w', '/w', 'm1', 'sh', '-c', 'exit 3']);
    expect(calls[0]?.options).toMatchObject({ stdin: 'in', timeoutMs: 5000, env: { K: 'v' } });

    reply = { exitCode: 1, stderr: 'Error response from daemon: Container abc is not running\n' };
    await expect(engine.exec('m1', ['true'])).rejects.toMatchObject({ name: 'DockerError', kind: 'not-running' });
    reply = { exitCode: -1, timedOut: true };
    await expect(engine.exec('m1', ['sleep', '9'])).rejects.toMatchObject({ kind: 'timeout' });
    reply = { exitCode: 127, stderr: 'exec: "nope": executable file not found in $PATH\n' };
    expect((await engine.exec('m1', ['nope'])).exitCode).toBe(127);
  });

  it('upload sends one tar to docker cp with the mode and owner asked for, and no parent entries', async () => {
    const host = join(hostDir, 'settings.json');
    await writeFile(host, '{"a":1}');
    const { transport, calls } = scriptedTransport();
    await new DockerEngine({ transport }).upload('m1', host, '/home/node/.claude/sub/settings.json', { mode: 0o600, uid: 1000, gid: 1000 });

    expect(calls.map((c) => c.argv)).toEqual([['docker', 'cp', '-', 'm1:/']]);
    const entries = unpackTar(calls[0]?.options.stdin as Uint8Array);
    // A parent entry would clobber an existing dir's owner and mode; docker creates missing ones root-owned.
    expect(entries.map(({ path, type, mode, uid, gid }) => ({ path, type, mode, uid, gid }))).toEqual([
      { path: 'home/node/.claude/sub/settings.json', type: 'file', mode: 0o600, uid: 1000, gid: 1000 },
    ]);
    expect(new TextDecoder().decode(entries[0]?.data)).toBe('{"a":1}');
  });

  it('uploadTree hands the archive to docker cp as it is', async () => {
    const { transport, calls } = scriptedTransport();
    const archive = packTar([{ path: 'opt/x', type: 'directory', mode: 0o750, uid: 7, gid: 8 }]);
    await new DockerEngine({ transport }).uploadTree('m1', archive);
    expect(calls.map((c) => c.argv)).toEqual([['docker', 'cp', '-', 'm1:/']]);
    expect(calls[0]?.options.stdin).toEqual(archive);
  });

  it('an upload to an unknown container is not-found', async () => {
    const host = join(hostDir, 'f');
    await writeFile(host, 'x');
    const { transport, calls } = scriptedTransport((argv) =>
      argv[1] === 'cp' ? { exitCode: 1, stderr: 'destination "m1:/" must be a directory\n' } : { exitCode: 1, stderr: 'Error: No such container: m1\n' },
    );
    await expect(new DockerEngine({ transport }).upload('m1', host, '/f', { mode: 0o644, uid: 0, gid: 0 })).rejects.toMatchObject({ kind: 'not-found' });
    expect(calls.map((c) => c.argv[1])).toEqual(['cp', 'container']);
  });

  it('upload refuses bad guest paths and modes before any docker call', async () => {
    const { transport, calls } = scriptedTransport();
    const engine = new DockerEngine({ transport });
    await expect(engine.upload('m1', '/nonexistent', 'rel', { mode: 0o644, uid: 0, gid: 0 })).rejects.toThrow(/must be absolute/);
    await expect(engine.upload('m1', '/nonexistent', '/a', { mode: 0o10000, uid: 0, gid: 0 })).rejects.toThrow(/mode/);
    expect(calls).toEqual([]);
  });

  it('status maps docker states and reads labels and image; unknown is undefined', async () => {
    let reply: Partial<CommandResult> = {};
    const { transport } = scriptedTransport(() => reply);
    const engine = new DockerEngine({ transport });
    for (const [docker, state] of [
      ['created', 'created'],
      ['running', 'running'],
      ['paused', 'frozen'],
      ['exited', 'stopped'],
      ['dead', 'stopped'],
      ['restarting', 'unknown'],
    ] as const) {
      reply = { stdout: inspectJson(docker) };
      expect(await engine.status('m1')).toEqual({ id: 'abc', name: 'm1', state, image: 'img:1', labels: { 'claude-bottle': '1' } });
    }
    reply = { stdout: inspectJson('running', null) };
    expect((await engine.status('m1'))?.labels).toEqual({});
    reply = { exitCode: 1, stdout: '[]\n', stderr: 'Error: No such container: m1\n' };
    expect(await engine.status('m1')).toBeUndefined();
    reply = { exitCode: 1, stderr: 'Cannot connect to the Docker daemon at unix:///x.sock. Is the docker daemon running?\n' };
    await expect(engine.status('m1')).rejects.toBeInstanceOf(DockerError);
    reply = { stdout: JSON.stringify([{ Id: 'abc', Name: '/m1', State: { Status: 'running' }, Config: { Labels: { 'claude-bottle': 1 } } }]) };
    await expect(engine.status('m1')).rejects.toThrow(/unexpected shape: \[0\]\.Config\.Labels\["claude-bottle"\]: expected a string, got number 1/);
  });

  it("serverVersion reads docker info's JSON string, and nothing else", async () => {
    let reply: Partial<CommandResult> = { stdout: '"27.5.1"\n' };
    const { transport, calls } = scriptedTransport(() => reply);
    const engine = new DockerEngine({ transport });
    expect(await engine.serverVersion()).toBe('27.5.1');
    expect(calls[0]?.argv).toEqual(['docker', 'info', '--format', '{{json .ServerVersion}}']);
    reply = { stdout: 'null\n' };
    await expect(engine.serverVersion()).rejects.toThrow('`docker info` printed JSON of an unexpected shape: (top): expected a string, got null');
  });

  it('list inspects the labelled ids and tolerates one vanishing in between', async () => {
    const { transport, calls } = scriptedTransport((argv) =>
      argv[1] === 'ps' ? { stdout: 'abc\ndef\n' } : { exitCode: 1, stdout: inspectJson('running'), stderr: 'Error: No such container: def\n' },
    );
    const listed = await new DockerEngine({ transport }).list({ agent: 'rev' });
    expect(listed.map((m) => m.name)).toEqual(['m1']);
    expect(calls[0]?.argv).toEqual(['docker', 'ps', '-a', '-q', '--no-trunc', '--filter', 'label=claude-bottle=1', '--filter', 'label=agent=rev']);
    expect(calls[1]?.argv).toEqual(['docker', 'container', 'inspect', 'abc', 'def']);
  });
});
