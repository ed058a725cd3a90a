// busybox tar's reader and extractor (archival/tar.c, archival/libarchive/get_header_tar.c,
// data_extract_all.c, unsafe_symlink_target.c, unsafe_prefix.c, header_verbose_list.c) on
// archives GNU tar 1.35 made; every expected output is what busybox printed for the same bytes.
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { createFakeSmolvm, type FakeSmolvm } from '../../index.ts';

// src/{d/ (0750), d/f, rel -> d/f, abs -> /etc/passwd, hard => src/d/f, x*120 (0640, a GNU
// long name)}, mtimes 2024-01-02 03:04:05Z; `tar --format=gnu` owned 0:0, `--format=pax` 1000:1000.
const GNU =
  'H4sIAAAAAAAAA+2XQW6DMBBFve4pfIIYB49n2wNwCZLQpCpKKpyqOX5t6AYqkXQxpir/bQAJaQaevxlCtzdKmCLCRP0xMj3259aRc569c+k+T+SVJunGEh/hWnda5yj1FwnRf70LojV6/8yP+7e23Fqlt6a57s17HcLnQaw5+DcH4R1gyP8P73P5Z3bIfw4G/y+iNZLgKHbGv5/453ipdCHa1Tcr939q2vbytHQXYClS/k91J/d9VY/kf/r9L8jH+c/m2JxWnv/0irumFa3x6/mvYE9lnP+k3SdW7n9jNua5upyP1ev5TajGvfxbptFa6FdLzH8l1M+IlftP+b8txNLPDvL4H/I/9/9H4/2/JOsY838O2rj1Y/wHAAAAAAAAAAAAAOB/8gWHj0gtACgAAA==';
const PAX =
  'H4sIAAAAAAAAA+2Xy26DMBBFve5X8Ad+4Meq+y77C25wygI1EaYKn1+7CCklUhTUjlGaezbeRHgyh2sPsd9xRoxIOGPyKp0R5+sMk9pobZ3VOv1OCikFqwx1YZnPOPg+lfLb58x/ZF7vhJj8+7dIuse3f+dW+FfW1KxSPAw7fvQxnhqy4uCfN8QnwJR/sSb/tbLIfwkm/3vSPXI/ktgr/u3Sv07HRVWkiQ/uvw1dd3jaugqwFTn/re/p7ld2S/4v7n+p0vwnSxxOD57/3OI+dKR7rJ//kn6T5j9q9xn4569+fAm+CX3kIwVn+f/Rolm+Wt7/tXZCsWos0YC/8n+nyFpXRz+0z/lFILF/A5g/NqOE9in/177/zCL/1giJ+b8E3eHjHfEDAAAAAAAAAAAAAOB/8gVqmyHYACgAAA==';
// ustar members `/tmp/fx/src/d/f` and `../src/rel` (tar -P).
const UNSAFE =
  'H4sIAAAAAAAAA+3UsQ7CIBSFYWafok/QC3oLz2O0jQNGQ2vi40s7NQwuhjSN/7fcAQKH4SDT/SnDW8Z0kasMpgabedVlZuWcV43TTtWHvK0z1rmgzjS2SprCa5zOKUf59ZzycTtx62N8HLZOga207VL91Md6d8x9CCF86b8t+3/y3jTHWh/S2p/3HwAAAAAAAAAAAAAAAPv2AXQtIBEAKAAA';
const LONG = `src/${'x'.repeat(120)}`;

let fake: FakeSmolvm;
const sh = (script: string) => fake.run(['smolvm', 'machine', 'exec', '--name', 't', '-w', '/w', '--', 'sh', '-c', script]);
const put = (path: string, data: Uint8Array) => fake.asGuestRoot('t', (fs) => fs.writeFileSync(path, data));

beforeAll(async () => {
  fake = createFakeSmolvm();
  await fake.run(['smolvm', 'machine', 'create', '--name', 't']);
  await fake.run(['smolvm', 'machine', 'start', '--name', 't']);
  fake.asGuestRoot('t', (fs) => fs.mkdirSync('/w'));
  const gnu = Buffer.from(GNU, 'base64');
  put('/w/gnu.tgz', gnu);
  put('/w/pax.tgz', Buffer.from(PAX, 'base64'));
  put('/w/unsafe.tgz', Buffer.from(UNSAFE, 'base64'));
  const tar = new Uint8Array(gunzipSync(gnu));
  const bad = tar.slice();
  bad[1] = (bad[1] ?? 0) ^ 1;
  put('/w/bad.tar', bad);
  put('/w/one-header.tar', tar.subarray(0, 512));
  put('/w/cut.tar', tar.subarray(0, 700));
  put('/w/zeros.tar', new Uint8Array(1024));
  put('/w/empty.tar', new Uint8Array());
});

describe('tar -t (get_header_tar.c, header_list.c, header_verbose_list.c)', () => {
  it('lists GNU long names, links and directories; -v as header_verbose_list', async () => {
    expect(await sh('tar -tzf gnu.tgz')).toMatchObject({ exitCode: 0, stdout: `src/\nsrc/abs\nsrc/d/\nsrc/d/f\nsrc/hard\nsrc/rel\n${LONG}\n` });
    expect((await sh('tar -tvzf pax.tgz')).stdout).toBe(
      [
        'drwxr-xr-x 1000/1000         0 2024-01-02 03:04:05 src/',
        'lrwxrwxrwx 1000/1000         0 2024-01-02 03:04:05 src/abs -> /etc/passwd',
        'drwxr-x--- 1000/1000         0 2024-01-02 03:04:05 src/d/',
        '-rw-r--r-- 1000/1000         6 2024-01-02 03:04:05 src/d/f',
        '-rw-r--r-- 1000/1000         0 2024-01-02 03:04:05 src/hard -> src/d/f',
        'lrwxrwxrwx 1000/1000         0 2024-01-02 03:04:05 src/rel -> d/f',
        `-rw-r----- 1000/1000         5 2024-01-02 03:04:05 ${LONG}`,
        '',
      ].join('\n'),
    );
  });

  it('strips unsafe prefixes, saying so once', async () => {
    expect(await sh('tar -tzf unsafe.tgz')).toMatchObject({
      exitCode: 0,
      stdout: 'tmp/fx/src/d/f\nsrc/rel\n',
      stderr: "tar: removing leading '/' from member names\n",
    });
  });

  it('refuses a bad checksum, a cut header, an empty stream and a bad gzip; EOF after a header is the end', async () => {
    expect(await sh('tar -tf bad.tar')).toMatchObject({ exitCode: 1, stdout: '', stderr: 'tar: invalid tar header checksum\n' });
    expect(await sh('tar -tf cut.tar')).toMatchObject({ exitCode: 1, stdout: 'src/\n', stderr: 'tar: short read\n' });
    expect(await sh('tar -tf empty.tar')).toMatchObject({ exitCode: 1, stderr: 'tar: short read\n' });
    expect(await sh('tar -tzf bad.tar')).toMatchObject({ exitCode: 1, stderr: 'tar: invalid magic\ntar: short read\n' });
    expect(await sh('tar -tf one-header.tar')).toMatchObject({ exitCode: 0, stdout: 'src/\n', stderr: '' });
    expect(await sh('tar -tf zeros.tar')).toMatchObject({ exitCode: 0, stdout: '', stderr: '' });
  });
});

describe('tar -x (data_extract_all.c, unsafe_symlink_target.c)', () => {
  it('as root restores modes, owners and mtimes; makes symlinks and hard links', async () => {
    const r = await sh(
      'mkdir x && cd x && tar -xzf ../pax.tgz && stat -c "%n %a %u:%g %h %Y" src src/d src/d/f src/hard src/x* && readlink src/rel && readlink src/abs',
    );
    expect(r).toMatchObject({ exitCode: 0, stderr: '' });
    // A directory's restored mtime moves again when its members are created, as on Linux.
    expect(r.stdout.replace(/^(src(?:\/d)? .*) \d+$/gm, '$1 LATER')).toBe(
      [
        'src 755 1000:1000 3 LATER',
        'src/d 750 1000:1000 2 LATER',
        'src/d/f 644 1000:1000 2 1704164645',
        'src/hard 644 1000:1000 2 1704164645',
        `${LONG} 640 1000:1000 1 1704164645`,
        'd/f',
        '/etc/passwd',
        '',
      ].join('\n'),
    );
  });

  it("replaces an old file, refuses one in a directory's place, keeps it with -k", async () => {
    expect(await sh('mkdir y && cd y && mkdir -p src/hard && tar -xzf ../gnu.tgz')).toMatchObject({
      exitCode: 1,
      stderr: "tar: can't remove old file src/hard: Is a directory\n",
    });
    expect((await sh('cd y && rmdir src/hard && tar -xzf ../gnu.tgz && echo new > src/d/f && tar -xzf ../gnu.tgz && cat src/d/f')).stdout).toBe('hello\n');
    expect(await sh('cd y && tar -xkzf ../gnu.tgz')).toMatchObject({ exitCode: 1, stderr: "tar: can't open 'src/d/f': File exists\n" });
  });

  it('as another user owns what it extracts, under the umask, and -m leaves mtimes alone', async () => {
    fake.registerImage('user:1', { user: '1000:1000' });
    await fake.run(['smolvm', 'machine', 'create', '--name', 'u', '-I', 'user:1', '--net']);
    await fake.run(['smolvm', 'machine', 'start', '--name', 'u']);
    fake.asGuestRoot('u', (fs) => fs.writeFileSync('/tmp/archive.tgz', Buffer.from(GNU, 'base64')));
    const r = await fake.run([
      'smolvm',
      'machine',
      'exec',
      '--name',
      'u',
      '-w',
      '/tmp',
      '--',
      'sh',
      '-c',
      'mkdir a b && cd a && tar -xzf ../archive.tgz && stat -c "%n %a %u:%g %Y" src/d src/d/f src/x* && cd ../b && tar -xmzf ../archive.tgz && stat -c %Y src/d/f',
    ]);
    expect(r).toMatchObject({ exitCode: 0, stderr: '' });
    const [dir, file, long, untouched] = r.stdout.split('\n');
    expect([dir?.replace(/ \d+$/, ''), file, long]).toEqual(['src/d 750 1000:1000', 'src/d/f 644 1000:1000 1704164645', `${LONG} 640 1000:1000 1704164645`]);
    expect(Number(untouched)).toBeGreaterThan(1704164645);
  });
});
