// podman's argv quirks, error lines and JSON as podman 4.3.1 prints them (captured on Debian 12).
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandResult, RunOptions, Transport } from '../../transport/types.ts';
import { podmanArgv } from './argv.ts';
import { parsePodmanNetworks } from './cli.ts';
import { CONTAINERS_CONF_TEXT, type LimitFacts, planContainersConf, podmanEnvironment, readLimitFacts, ulimitProblem } from './containers-conf.ts';
import { firstHost, PodmanEngine } from './engine.ts';
import { isPodmanFailure, PodmanError, podmanMissingBinary } from './errors.ts';

const NETWORK_JSON = `[
     {
          "name": "claude-bottle-0123456789abcdef",
          "id": "3ea50e48eb1883c8c7d87ec39a73c09d533f79d40e91ce0b17c45a4dceaf8774",
          "driver": "bridge",
          "network_interface": "podman1",
          "subnets": [ { "subnet": "10.89.0.0/24", "gateway": "10.89.0.1" } ],
          "internal": true,
          "dns_enabled": false,
          "labels": { "claude-bottle": "1", "claude-bottle.launch": "0123456789abcdef" }
     }
]`;

const limited: LimitFacts = { root: true, capSysResource: false, hardNofile: 20_000, hardNproc: 96_364 };
const roomy: LimitFacts = { root: true, capSysResource: false, hardNofile: 1_048_576, hardNproc: 1_000_000 };

function scripted(reply: (argv: readonly string[]) => Partial<CommandResult> = () => ({})) {
  const calls: { argv: readonly string[]; options: RunOptions }[] = [];
  const transport: Transport = {
    async run(argv, options = {}) {
      calls.push({ argv, options });
      const r = reply(argv);
      const stdout = r.stdout ?? '';
      return { argv, exitCode: 0, stderr: '', durationMs: 1, timedOut: false, ...r, stdout, stdoutBytes: new TextEncoder().encode(stdout) };
    },
  };
  return { transport, calls };
}

let work = '';
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'claude-bottle-podman-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('podman argv', () => {
  it('keeps the tar owners on cp, and gives internal networks no DNS forwarder', () => {
    expect(podmanArgv.copyIn('m')).toEqual(['podman', 'cp', '--archive=false', '-', 'm:/']);
    // Marked as a bottle's (what prune lists by) whatever the caller passed, once.
    const expected = ['podman', 'network', 'create', '--internal', '--disable-dns', '--label', 'claude-bottle=1', '--label', 'a=b', 'n'];
    expect(podmanArgv.networkCreate('n', { a: 'b' })).toEqual(expected);
    expect(podmanArgv.networkCreate('n', { 'claude-bottle': '1', a: 'b' })).toEqual(expected);
    expect(podmanArgv.create({ name: 'm', image: 'i', network: 'none' }).slice(0, 4)).toEqual(['podman', 'create', '--pull', 'never']);
  });
});

describe('podman errors', () => {
  const result = (exitCode: number, stderr: string) => ({ argv: ['podman', 'start', 'x'], exitCode, stderr, stdout: '', timedOut: false });
  it.each([
    ['Error: no container with name or ID "nope" found: no such container', 'not-found'],
    ['Error: inspecting object: no such container nope', 'not-found'],
    ['Error: container "nope" does not exist', 'not-found'],
    ['Error: can only create exec sessions on running containers: container state improper', 'not-running'],
    [
      'Error: creating container storage: the container name "t1" is already in use by 5d7b. You have to remove that container to be able to reuse that name: that name is already in use',
      'already-exists',
    ],
    ['Error: claude-bottle-test/nope:1: image not known', 'image-missing'],
    [
      'Error: runc: runc create failed: unable to start container process: error during container init: error setting rlimits for ready process: error setting rlimit type 7: operation not permitted: OCI permission denied',
      'unknown',
    ],
  ] as const)('classifies %j as %s', (stderr, kind) => {
    const error = PodmanError.fromResult(result(125, `${stderr}\n`));
    expect(error).toMatchObject({ name: 'PodmanError', kind, reason: stderr.slice('Error: '.length) });
    expect(error.message).toContain('podman start x');
  });

  it("tells podman's own exec failures from the guest's answers", () => {
    expect(isPodmanFailure({ exitCode: 125, stderr: 'Error: no container with name or ID "x" found: no such container\n', timedOut: false })).toBe(true);
    expect(
      isPodmanFailure({ exitCode: 255, stderr: 'Error: can only create exec sessions on running containers: container state improper\n', timedOut: false }),
    ).toBe(true);
    expect(isPodmanFailure({ exitCode: -1, stderr: '', timedOut: true })).toBe(true);
    expect(isPodmanFailure({ exitCode: 125, stderr: 'guest says 125\n', timedOut: false })).toBe(false);
    expect(isPodmanFailure({ exitCode: 255, stderr: 'Error: guest\n', timedOut: false })).toBe(false);
    expect(isPodmanFailure({ exitCode: 1, stderr: 'Error: no container with name or ID "x" found\n', timedOut: false })).toBe(false);
  });

  it('reads the runtime not finding the guest binary, and not a file it cannot execute', () => {
    const notFound =
      'Error: runc: exec failed: unable to start container process: exec: "nope": executable file not found in $PATH: OCI runtime attempted to invoke a command that was not found\n';
    expect(podmanMissingBinary({ exitCode: 127, stderr: notFound, stdout: '' })).toMatch(/^runc: exec failed: .*"nope": executable file not found/);
    expect(podmanMissingBinary({ exitCode: 127, stderr: 'sh: nope: not found\n', stdout: '' })).toBeUndefined();
    expect(
      podmanMissingBinary({
        exitCode: 126,
        stderr: 'Error: runc: exec failed: unable to start container process: exec: "/etc/passwd": permission denied: OCI permission denied\n',
        stdout: '',
      }),
    ).toBeUndefined();
  });

  it('parses network inspect: gateway, prefix, bridge, labels; machines are counted separately', () => {
    expect(parsePodmanNetworks(NETWORK_JSON)).toEqual([
      {
        id: '3ea50e48eb1883c8c7d87ec39a73c09d533f79d40e91ce0b17c45a4dceaf8774',
        name: 'claude-bottle-0123456789abcdef',
        labels: { 'claude-bottle': '1', 'claude-bottle.launch': '0123456789abcdef' },
        gateway: '10.89.0.1',
        prefixLength: 24,
        subnet: '10.89.0.0/24',
        hostInterface: 'podman1',
      },
    ]);
  });

  it("refuses network inspect JSON of another shape (docker's keys), naming what it expected", () => {
    expect(() => parsePodmanNetworks(JSON.stringify([{ Id: 'x', Name: 'n' }]))).toThrow(
      '`podman network inspect` printed JSON of an unexpected shape: [0].id: expected a string, got nothing',
    );
    expect(() => parsePodmanNetworks(JSON.stringify([{ id: 'x', name: 'n', subnets: [{ gateway: '10.0.0.1' }] }]))).toThrow(
      /\[0\]\.subnets\[0\]\.subnet: expected a string/,
    );
  });
});

describe('podman containers.conf', () => {
  it('is needed only for a rootful podman that cannot raise the limits', () => {
    expect(ulimitProblem(limited)).toMatch(/nofile 20000 < 1048576.*no CAP_SYS_RESOURCE/);
    expect(ulimitProblem({ ...limited, hardNproc: 1000 })).toMatch(/nofile 20000 < 1048576, nproc 1000 < 32768/);
    expect(ulimitProblem(roomy)).toBeUndefined();
    expect(ulimitProblem({ ...limited, capSysResource: true })).toBeUndefined();
    expect(ulimitProblem({ ...limited, root: false })).toBeUndefined();
    expect(ulimitProblem(undefined)).toBeUndefined();
  });

  it('reads the hard limits and CAP_SYS_RESOURCE from /proc', async () => {
    const proc = join(work, 'proc');
    await import('node:fs/promises').then((fs) => fs.mkdir(proc, { recursive: true }));
    await writeFile(
      join(proc, 'limits'),
      'Limit                     Soft Limit           Hard Limit           Units\nMax processes             96364                96364                processes\nMax open files            20000                20000                files\n',
    );
    await writeFile(join(proc, 'status'), 'Name:\tnode\nCapEff:\t000001fffeffffff\n');
    expect(await readLimitFacts(proc, 0)).toEqual(limited);
    await writeFile(join(proc, 'status'), 'CapEff:\t000001ffffffffff\n');
    expect((await readLimitFacts(proc, 0))?.capSysResource).toBe(true);
    expect(await readLimitFacts(join(work, 'no-proc'), 0)).toBeUndefined();
  });

  it("leaves a user's CONTAINERS_CONF alone; otherwise writes its own 0600 file once, only where needed", async () => {
    const env = { CLAUDE_BOTTLE_CACHE_DIR: join(work, 'cache') };
    expect(await planContainersConf({ ...env, CONTAINERS_CONF: '/etc/mine.conf' }, limited)).toEqual({
      mode: 'user',
      path: '/etc/mine.conf',
      problem: expect.any(String),
    });
    expect(await podmanEnvironment(env, roomy)).toEqual({ env: {}, setup: { mode: 'podman-default' } });
    const path = join(work, 'cache', 'podman', 'containers.conf');
    expect(await podmanEnvironment(env, limited)).toEqual({
      env: { CONTAINERS_CONF: path },
      setup: { mode: 'claude-bottle', path, problem: expect.any(String) },
    });
    expect(await readFile(path, 'utf8')).toBe(CONTAINERS_CONF_TEXT);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(path, '..'))).mode & 0o777).toBe(0o700);
  });
});

describe('PodmanEngine', () => {
  it('points every podman call at its containers.conf where needed, and no other program', async () => {
    const { transport, calls } = scripted();
    const engine = new PodmanEngine({ transport, hostEnv: { CLAUDE_BOTTLE_CACHE_DIR: join(work, 'cache2') }, limits: limited, rootful: true });
    await engine.start('m');
    expect(calls[0]?.options.env).toEqual({ CONTAINERS_CONF: join(work, 'cache2', 'podman', 'containers.conf') });
    const plain = scripted();
    await new PodmanEngine({ transport: plain.transport, limits: roomy }).start('m');
    expect(plain.calls[0]?.options.env).toEqual({});
  });

  it('a missing guest binary is exit 127 with the runtime message on stderr', async () => {
    const { transport } = scripted(() => ({
      exitCode: 127,
      stderr:
        'Error: runc: exec failed: unable to start container process: exec: "nope": executable file not found in $PATH: OCI runtime attempted to invoke a command that was not found\n',
    }));
    const result = await new PodmanEngine({ transport, limits: roomy }).exec('m', ['nope']);
    expect(result).toMatchObject({ exitCode: 127, stdout: '', stderr: expect.stringContaining('"nope": executable file not found') });
  });

  it('firstHost: the first address of an IPv4 subnet', () => {
    expect(firstHost('10.89.3.0/24')).toBe('10.89.3.1');
    expect(firstHost('10.89.3.77/24')).toBe('10.89.3.1');
    expect(firstHost('172.16.0.0/12')).toBe('172.16.0.1');
    expect(firstHost('fd00::/64')).toBeUndefined();
    expect(firstHost('10.0.0.0/31')).toBeUndefined();
  });

  it('rootless podman offers no host route', () => {
    expect(new PodmanEngine({ transport: scripted().transport, rootful: false }).capabilities.hostRoute).toBe(false);
  });
});
