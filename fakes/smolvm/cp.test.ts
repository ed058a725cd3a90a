import { memfs } from 'memfs';
import { beforeEach, describe, expect, it } from 'vitest';
import { createFakeSmolvm, type FakeSmolvm, type HostFs } from '../index.ts';

let host: ReturnType<typeof memfs>['fs'];
let fake: FakeSmolvm;
const sm = (...args: string[]) => fake.run(['smolvm', ...args]);
const guest = (name = 'vm1') => fake.guestFs(name);
const mode = (path: string, name = 'vm1') => Number(guest(name).statSync(path).mode) & 0o7777;

beforeEach(async () => {
  host = memfs({ '/work/hello.txt': 'hello\n', '/work/tool.sh': '#!/bin/sh\n', '/work/dir/x': 'x' }).fs;
  fake = createFakeSmolvm({ hostFs: host.promises as HostFs });
  await sm('machine', 'create', '--name', 'vm1');
  await sm('machine', 'start', '--name', 'vm1');
});

describe('cp upload', () => {
  it('writes a root-owned 0644 file, creating missing parents, with progress on stderr', async () => {
    const r = await sm('machine', 'cp', '/work/hello.txt', 'vm1:/opt/app/deep/hello.txt');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^Uploading \/work\/hello\.txt -> \/opt\/app\/deep\/hello\.txt: 6 B \/ 6 B \(100\.0%, .+\/s\)\n$/);
    expect(String(guest().readFileSync('/opt/app/deep/hello.txt', 'utf8'))).toBe('hello\n');
    const st = guest().statSync('/opt/app/deep/hello.txt');
    expect([Number(st.uid), Number(st.gid), mode('/opt/app/deep/hello.txt')]).toEqual([0, 0, 0o644]);
    expect(mode('/opt/app/deep')).toBe(0o755);
  });

  it('does not keep the host mode (the executable bit is lost without --mode)', async () => {
    await host.promises.chmod('/work/tool.sh', 0o755);
    await sm('machine', 'cp', '/work/tool.sh', 'vm1:/usr/local/bin/tool.sh');
    expect(mode('/usr/local/bin/tool.sh')).toBe(0o644);
  });

  it('applies --mode, --uid and --gid', async () => {
    const r = await sm('machine', 'cp', '--mode', '0o600', '--uid', '1000', '--gid', '1001', '/work/hello.txt', 'vm1:/home/u/secret');
    expect(r.exitCode).toBe(0);
    const st = guest().statSync('/home/u/secret');
    expect([Number(st.uid), Number(st.gid), mode('/home/u/secret')]).toEqual([1000, 1001, 0o600]);
    await sm('machine', 'cp', '--uid', '7', '/work/hello.txt', 'vm1:/home/u/only-uid');
    expect([Number(guest().statSync('/home/u/only-uid').uid), Number(guest().statSync('/home/u/only-uid').gid)]).toEqual([7, 0]);
  });

  it('replaces an existing file atomically, dropping its old mode and owner', async () => {
    await sm('machine', 'cp', '--mode', '755', '--uid', '5', '/work/tool.sh', 'vm1:/srv/f');
    await sm('machine', 'cp', '/work/hello.txt', 'vm1:/srv/f');
    expect(String(guest().readFileSync('/srv/f', 'utf8'))).toBe('hello\n');
    expect([mode('/srv/f'), Number(guest().statSync('/srv/f').uid)]).toEqual([0o644, 0]);
    // Only the target is left: the staging file was renamed onto it.
    expect(guest().readdirSync('/srv')).toEqual(['f']);
  });

  it('stages beside the target under the agent staging name', async () => {
    const seen: string[] = [];
    const vol = guest();
    const rename = vol.renameSync.bind(vol);
    vol.renameSync = ((from: string, to: string) => {
      seen.push(`${String(from)} -> ${String(to)}`);
      return rename(from, to);
    }) as typeof vol.renameSync;
    await sm('machine', 'cp', '/work/hello.txt', 'vm1:/srv/target.txt');
    expect(seen).toEqual(['/srv/target.txt.smolvm-upload.1.0 -> /srv/target.txt']);
  });

  it('adds a leading slash to a relative guest path', async () => {
    expect((await sm('machine', 'cp', '/work/hello.txt', 'vm1:rel/file')).exitCode).toBe(0);
    expect(guest().existsSync('/rel/file')).toBe(true);
  });

  it('refuses parent traversal and an empty guest path', async () => {
    expect(await sm('machine', 'cp', '/work/hello.txt', 'vm1:/tmp/../etc/passwd')).toMatchObject({
      exitCode: 1,
      stderr: 'Error: agent operation failed: write file: invalid guest path /tmp/../etc/passwd: parent traversal is not allowed\n',
    });
    expect((await sm('machine', 'cp', '/work/hello.txt', 'vm1:')).stderr).toBe(
      'Error: agent operation failed: write file: invalid guest path : path is empty\n',
    );
  });

  it('refuses a host directory as the source', async () => {
    expect(await sm('machine', 'cp', '/work/dir', 'vm1:/x')).toMatchObject({
      exitCode: 1,
      stderr: 'Error: agent operation failed: read source file: Is a directory (os error 21)\n',
    });
  });

  it('reports a missing host source', async () => {
    expect(await sm('machine', 'cp', '/work/nope', 'vm1:/x')).toMatchObject({
      exitCode: 1,
      stderr: 'Error: agent operation failed: read local file: /work/nope: No such file or directory (os error 2)\n',
    });
  });

  it('fails to rename onto an existing guest directory', async () => {
    expect(await sm('machine', 'cp', '/work/hello.txt', 'vm1:/root')).toMatchObject({
      exitCode: 1,
      stderr: 'Error: agent operation failed: write file: failed to rename onto /root: Is a directory (os error 21)\n',
    });
    expect(guest().readdirSync('/')).not.toContain('root.smolvm-upload.1.0');
  });

  it('reports a parent that is a regular file', async () => {
    expect((await sm('machine', 'cp', '/work/hello.txt', 'vm1:/etc/passwd/x/y')).stderr).toBe(
      'Error: agent operation failed: write file: failed to create directory /etc/passwd/x: Not a directory (os error 20)\n',
    );
  });

  it.each([['755'], ['0755'], ['0o755']])('accepts the octal mode %s', async (m) => {
    await sm('machine', 'cp', '--mode', m, '/work/hello.txt', 'vm1:/m');
    expect(mode('/m')).toBe(0o755);
  });

  it.each([['rwx'], ['9'], ['17777']])('refuses the mode %s', async (m) => {
    expect(await sm('machine', 'cp', '--mode', m, '/work/hello.txt', 'vm1:/m')).toMatchObject({
      exitCode: 1,
      stderr: `Error: config operation failed: cp: invalid octal mode '${m}' (expected e.g. 644)\n`,
    });
  });
});

describe('cp download', () => {
  beforeEach(async () => {
    await sm('machine', 'exec', '--name', 'vm1', '--', 'sh', '-c', 'mkdir -p /out && printf data > /out/f && chmod 600 /out/f');
  });

  it('copies a guest file to a host path, with progress on stderr', async () => {
    const r = await sm('machine', 'cp', 'vm1:/out/f', '/work/f');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^Downloading \/out\/f -> \/work\/f: 4 B \(.+\/s\)\n$/);
    expect(String(host.readFileSync('/work/f', 'utf8'))).toBe('data');
  });

  it('round-trips binary bytes exactly', async () => {
    const bytes = new Uint8Array(70_000).map((_, i) => (i * 7) % 256);
    await host.promises.writeFile('/work/bin', bytes);
    await sm('machine', 'cp', '/work/bin', 'vm1:/b');
    await sm('machine', 'cp', 'vm1:/b', '/work/back');
    expect(new Uint8Array(host.readFileSync('/work/back') as Buffer)).toEqual(bytes);
  });

  it('refuses --mode/--uid/--gid', async () => {
    for (const flags of [
      ['--mode', '644'],
      ['--uid', '0'],
      ['--gid', '0'],
    ]) {
      expect(await sm('machine', 'cp', ...flags, 'vm1:/out/f', '/work/f')).toMatchObject({
        exitCode: 1,
        stderr: 'Error: config operation failed: cp: --mode/--uid/--gid apply to uploads only (host -> machine)\n',
      });
    }
  });

  it('does not create a missing local parent', async () => {
    expect(await sm('machine', 'cp', 'vm1:/out/f', '/nowhere/f')).toMatchObject({
      exitCode: 1,
      stderr: 'Error: agent operation failed: write local file: /nowhere/f: No such file or directory (os error 2)\n',
    });
  });

  it('refuses a local directory as the destination', async () => {
    expect((await sm('machine', 'cp', 'vm1:/out/f', '/work/dir')).stderr).toBe(
      'Error: agent operation failed: write local file: /work/dir: Is a directory (os error 21)\n',
    );
  });

  it('reports a missing guest file and removes the local file it had created', async () => {
    await host.promises.writeFile('/work/existing', 'old');
    expect(await sm('machine', 'cp', 'vm1:/out/missing', '/work/existing')).toMatchObject({
      exitCode: 1,
      stderr: 'Error: agent operation failed: read file: failed to open /out/missing: No such file or directory (os error 2)\n',
    });
    expect(host.existsSync('/work/existing')).toBe(false);
  });

  it('refuses a guest directory', async () => {
    expect((await sm('machine', 'cp', 'vm1:/out', '/work/o')).stderr).toBe('Error: agent operation failed: read file: not a regular file: /out\n');
  });
});

describe('cp direction and preconditions', () => {
  it('needs a machine:path on one side', async () => {
    expect(await sm('machine', 'cp', '/work/hello.txt', '/work/b')).toMatchObject({
      exitCode: 1,
      stderr: 'Error: config operation failed: cp: one of SRC or DST must use machine:path syntax (e.g., myvm:/workspace/file)\n',
    });
  });

  it('checks SRC first: a local source with a colon reads as a download', async () => {
    const r = await sm('machine', 'cp', './a:b', 'vm1:/x');
    expect(r).toMatchObject({
      exitCode: 1,
      stderr: 'Error: config operation failed: validate machine name: machine name must start with a letter or digit (got: "./a")\n',
    });
  });

  it('fails for unknown and stopped machines without starting them', async () => {
    expect((await sm('machine', 'cp', '/work/hello.txt', 'ghost:/x')).stderr).toBe('Error: vm not found: ghost\n');
    await sm('machine', 'stop', '--name', 'vm1');
    expect(await sm('machine', 'cp', '/work/hello.txt', 'vm1:/x')).toMatchObject({
      exitCode: 1,
      stderr: "Error: agent operation failed: connect: machine 'vm1' is not running. Use 'smolvm machine start --name vm1' first.\n",
    });
    expect(fake.machine('vm1')?.state).toBe('stopped');
  });

  it('wants exactly two positionals', async () => {
    const missing = await sm('machine', 'cp', '/work/hello.txt');
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/^error: the following required arguments were not provided:\n {2}<DST>\n/);
    const extra = await sm('machine', 'cp', 'a', 'vm1:/b', 'c');
    expect(extra.exitCode).toBe(2);
    expect(extra.stderr).toMatch(/^error: unexpected argument 'c' found\n/);
  });

  it('uses the container texts on image machines', async () => {
    await sm('machine', 'create', '-n', 'img', '-I', 'alpine:3.20', '--net');
    await sm('machine', 'start', '-n', 'img');
    expect((await sm('machine', 'cp', 'vm1:/out/missing', '/work/x')).stderr).toContain('failed to open /out/missing');
    expect((await sm('machine', 'cp', 'img:/missing', '/work/x')).stderr).toBe(
      'Error: agent operation failed: read file: failed to read /missing in the workload container: open /missing: No such file or directory (os error 2)\n',
    );
    expect((await sm('machine', 'cp', '/work/hello.txt', 'img:/root')).stderr).toBe(
      'Error: agent operation failed: write file: failed to write /root in the workload container: rename into /root: Is a directory (os error 21)\n',
    );
  });
});
