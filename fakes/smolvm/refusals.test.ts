// What real smolvm 1.9.2 refuses at create and start, with its texts and exit codes. Each
// block names the smolvm source (tag v1.9.2) the rule was read from.
import { memfs } from 'memfs';
import { describe, expect, it } from 'vitest';
import { createFakeSmolvm, fakeResolver, type FakeSmolvm, type HostFs, type HostResolver } from '../index.ts';
import { noSuchHost } from './dns.ts';

const sm = (fake: FakeSmolvm, ...args: string[]) => fake.run(['smolvm', ...args]);
const create = (fake: FakeSmolvm, ...args: string[]) => sm(fake, 'machine', 'create', ...args);

/** A resolver that knows a fixed table and records what it was asked. */
function table(entries: Record<string, readonly string[]>): HostResolver & { asked: string[] } {
  const asked: string[] = [];
  const resolve = async (host: string) => {
    asked.push(host);
    const found = entries[host];
    if (!found) throw new Error('failed to lookup address information: Name or service not known');
    return found;
  };
  return Object.assign(resolve, { asked });
}

describe('--allow-host is resolved at create (src/cli/machine.rs resolve_egress_flags, src/smolfile.rs)', () => {
  it('refuses a name that does not resolve, and creates nothing', async () => {
    const fake = createFakeSmolvm({ resolveHost: table({}) });
    const r = await create(fake, '-n', 'm', '--allow-host', 'nowhere.example');
    expect(r).toMatchObject({
      exitCode: 1,
      stdout: '',
      stderr:
        "Error: config operation failed: --allow-host: failed to resolve 'nowhere.example': " +
        'failed to lookup address information: Name or service not known\n',
    });
    expect(fake.machine('m')).toBeUndefined();
  });

  it('refuses host:port by syntax, without asking the resolver', async () => {
    const resolver = table({ 'api.example.com': ['203.0.113.7'] });
    const fake = createFakeSmolvm({ resolveHost: resolver });
    for (const value of ['api.example.com:443', '[::1]:80']) {
      expect((await create(fake, '-n', 'm', '--allow-host', value)).stderr).toBe(
        `Error: config operation failed: --allow-host: invalid hostname '${value}': port suffixes are not supported. ` +
          'Use the hostname only (all ports are allowed to resolved IPs).\n',
      );
    }
    expect(resolver.asked).toEqual([]);
  });

  it('takes IP literals as they are, and resolves names once each', async () => {
    const resolver = table({ 'api.example.com': ['203.0.113.7'] });
    const fake = createFakeSmolvm({ resolveHost: resolver });
    const r = await create(fake, '-n', 'm', '--allow-host', '192.0.2.1', '--allow-host', '::1', '--allow-host', 'api.example.com');
    expect(r.exitCode).toBe(0);
    expect(resolver.asked).toEqual(['api.example.com']);
    expect(fake.machine('m')).toMatchObject({ network: true, allowHosts: ['192.0.2.1', '::1', 'api.example.com'] });
  });

  it('bounds a lookup in time, and reports an empty answer', async () => {
    let aborted = false;
    const hang: HostResolver = (_host, signal) => new Promise(() => signal.addEventListener('abort', () => (aborted = true)));
    const slow = createFakeSmolvm({ resolveHost: hang, dnsTimeoutMs: 20 });
    expect((await create(slow, '-n', 'm', '--allow-host', 'slow.example')).stderr).toBe(
      "Error: config operation failed: --allow-host: DNS resolution for 'slow.example' timed out after 10 seconds\n",
    );
    expect(aborted).toBe(true);
    const empty = createFakeSmolvm({ resolveHost: async () => [] });
    expect((await create(empty, '-n', 'm', '--allow-host', 'empty.example')).stderr).toBe(
      "Error: config operation failed: --allow-host: 'empty.example' resolved to no addresses\n",
    );
  });

  it('resolves before anything else is checked, e.g. a bad label', async () => {
    const fake = createFakeSmolvm({ resolveHost: table({}) });
    const r = await create(fake, '-n', 'm', '--label', 'nokv', '--allow-host', 'gone.example');
    expect(r.stderr).toMatch(/^Error: config operation failed: --allow-host: failed to resolve 'gone\.example'/);
  });

  it('the default resolver is hermetic: .invalid never resolves, other names get a TEST-NET-2 address', async () => {
    await expect(fakeResolver('db.invalid', new AbortController().signal)).rejects.toThrow(noSuchHost());
    await expect(fakeResolver('bad..name', new AbortController().signal)).rejects.toThrow(noSuchHost());
    expect(await fakeResolver('localhost', new AbortController().signal)).toEqual(['127.0.0.1', '::1']);
    const [address] = await fakeResolver('api.anthropic.com', new AbortController().signal);
    expect(address).toMatch(/^198\.51\.100\.\d+$/);
    expect(await fakeResolver('API.anthropic.com.', new AbortController().signal)).toEqual([address]);
    const fake = createFakeSmolvm();
    expect((await create(fake, '-n', 'm', '--allow-host', 'db.invalid')).stderr).toBe(
      `Error: config operation failed: --allow-host: failed to resolve 'db.invalid': ${noSuchHost()}\n`,
    );
  });

  it('re-resolves at start, where a failure only warns (src/cli/vm_common.rs start_vm_named_with_db)', async () => {
    const entries: Record<string, readonly string[]> = { 'cdn.example': ['203.0.113.9'] };
    const fake = createFakeSmolvm({ resolveHost: table(entries) });
    expect((await create(fake, '-n', 'm', '--allow-host', 'cdn.example')).exitCode).toBe(0);
    delete entries['cdn.example'];
    const r = await sm(fake, 'machine', 'start', '-n', 'm');
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe(
      "Warning: could not resolve 'cdn.example' for egress policy: failed to resolve 'cdn.example': " +
        "failed to lookup address information: Name or service not known\nStarting machine 'm'...\n",
    );
  });
});

describe('network backend rules (src/network/launch.rs validate_requested_network_backend)', () => {
  const egress =
    'Error: config operation failed: egress: egress policy (--allow-cidr/--allow-host/--outbound-localhost-only) ' +
    'requires the virtio-net backend; TSI does not enforce it. Remove --net-backend tsi or set it to virtio-net\n';
  const ports =
    'Error: config operation failed: ports: published ports require the virtio-net backend (TSI is outbound-only); ' +
    'remove --net-backend tsi or set it to virtio-net\n';

  it.each([
    [['--net-backend', 'tsi', '--allow-cidr', '10.0.0.0/8'], egress],
    [['--net-backend', 'tsi', '--allow-host', 'api.example.com'], egress],
    [['--net', '--net-backend', 'tsi', '--outbound-localhost-only'], egress],
    [['--net', '--net-backend', 'tsi', '-p', '8080:80'], ports],
    [['--net-backend', 'virtio-net'], 'Error: config operation failed: --net-backend: --net-backend virtio-net requires --net\n'],
  ])('refuses %j', async (flags, stderr) => {
    const fake = createFakeSmolvm();
    expect(await create(fake, '-n', 'm', ...flags)).toMatchObject({ exitCode: 1, stdout: '', stderr });
    expect(fake.machine('m')).toBeUndefined();
  });

  it.each([
    [['--net', '--net-backend', 'virtio-net']],
    [['--net-backend', 'virtio-net', '-p', '8080:80']],
    [['--net-backend', 'virtio-net', '--allow-cidr', '10.0.0.0/8']],
    [['--net', '--net-backend', 'tsi']],
    [['-p', '8080:80']],
  ])('accepts %j', async (flags) => {
    expect((await create(createFakeSmolvm(), '-n', 'm', ...flags)).exitCode).toBe(0);
  });

  it('checks the backend after the resources, as CreateCmd::run does', async () => {
    const r = await create(createFakeSmolvm(), '--cpus', '0', '--net-backend', 'virtio-net');
    expect(r.stderr).toBe('Error: config operation failed: validate resources: CPU count must be at least 1\n');
  });
});

describe('host ports (src/data/network.rs check_duplicates, src/cli/vm_common.rs check_port_conflicts)', () => {
  it('refuses a host port mapped twice in one machine', async () => {
    const r = await create(createFakeSmolvm(), '-n', 'm', '-p', '8080:80', '-p', '9000', '-p', '8080:81');
    expect(r).toMatchObject({
      exitCode: 1,
      stderr: 'Error: config operation failed: validate ports: duplicate host port 8080: each host port can only be mapped once\n',
    });
  });

  it('refuses to start a machine whose host port a running machine holds, naming it', async () => {
    const fake = createFakeSmolvm();
    await create(fake, '-n', 'first', '-p', '8080:80');
    await create(fake, '-n', 'second', '-p', '9000:90', '-p', '8080:8080');
    expect((await sm(fake, 'machine', 'start', '-n', 'first')).exitCode).toBe(0);
    const r = await sm(fake, 'machine', 'start', '-n', 'second');
    expect(r).toMatchObject({
      exitCode: 1,
      stdout: '',
      stderr: "Error: config operation failed: start machine: host port 8080 is already in use by running machine 'first'\n",
    });
    expect(fake.machine('second')?.state).toBe('created');
    await sm(fake, 'machine', 'stop', '-n', 'first');
    expect((await sm(fake, 'machine', 'start', '-n', 'second')).exitCode).toBe(0);
  });
});

describe('volume host paths (src/data/storage.rs HostMount, src/data/errors.rs)', () => {
  const host = (): HostFs => memfs({ '/work/src/a.txt': 'a', '/work/file.txt': 'f' }).fs.promises as unknown as HostFs;
  const vol = async (...specs: string[]) => {
    const fake = createFakeSmolvm({ hostFs: host() });
    const r = await create(fake, '-n', 'm', ...specs.flatMap((s) => ['-v', s]));
    return { ...r, machine: fake.machine('m') };
  };

  it('refuses a missing source and a file where a directory is needed', async () => {
    expect((await vol('/work/nope:/data')).stderr).toBe('Error: mount source not found: /work/nope\n');
    expect((await vol('/work/file.txt:/data')).stderr).toBe(
      'Error: mount operation failed: validate host path: source path on host must be a directory (virtiofs limitation): /work/file.txt\n',
    );
  });

  it.each(['/work/src', ':/data', '/work/src:', 'ro'])("refuses the malformed %j in smolvm's words", async (spec) => {
    expect(await vol(spec)).toMatchObject({
      exitCode: 1,
      stderr: `Error: invalid mount path: invalid format '${spec}' (expected host:guest[:ro|:rw])\n`,
    });
  });

  it('refuses a relative guest path, a protected host path and a duplicate target', async () => {
    expect((await vol('/work/src:data')).stderr).toBe(
      'Error: mount operation failed: validate guest path: target path on guest should be an absolute directory: data\n',
    );
    if (process.platform === 'linux' || process.platform === 'darwin') {
      const fake = createFakeSmolvm({ hostFs: memfs({ '/usr/share/x': 'x' }).fs.promises as unknown as HostFs });
      expect((await create(fake, '-n', 'm', '-v', '/usr/share:/s')).stderr).toBe(
        'Error: mount operation failed: validate host path: source path on host is a protected system path and cannot be mounted: /usr/share\n',
      );
    }
    expect((await vol('/work/src:/data', '/work:/data:ro')).stderr).toBe(
      'Error: mount operation failed: validate mounts: duplicate mount target: /data is specified more than once\n',
    );
  });

  it('keeps the canonical source and the :ro/:rw mode', async () => {
    const r = await vol('/work/src/../src:/data:ro', '/work:/w:rw');
    expect(r.exitCode).toBe(0);
    expect(r.machine?.mounts).toEqual([
      { host: '/work/src', guest: '/data', readOnly: true },
      { host: '/work', guest: '/w', readOnly: false },
    ]);
  });
});
