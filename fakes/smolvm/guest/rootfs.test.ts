// The guest's root filesystem and program lookup, as smolvm v1.9.2 builds its Alpine agent
// rootfs (scripts/build-agent-rootfs.sh, crates/smolvm-agent/src/main.rs and storage.rs).
import { beforeAll, describe, expect, it } from 'vitest';
import { createFakeSmolvm, type FakeSmolvm } from '../../index.ts';

let fake: FakeSmolvm;
const exec = (name: string, ...argv: string[]) => fake.run(['smolvm', 'machine', 'exec', '--name', name, '--', ...argv]);
const sh = (name: string, script: string) => exec(name, 'sh', '-c', script);

beforeAll(async () => {
  fake = createFakeSmolvm();
  fake.registerImage('app:1', { files: { '/etc/passwd': 'root:x:0:0:root:/root:/bin/sh\n' } });
  for (const [name, ...flags] of [['bare'], ['img', '-I', 'app:1', '--net'], ['Upper_Name']]) {
    await fake.run(['smolvm', 'machine', 'create', '--name', name as string, ...flags]);
    await fake.run(['smolvm', 'machine', 'start', '--name', name as string]);
  }
});

describe('Alpine 3.19 files (aports alpine-release, alpine-baselayout)', () => {
  it('has os-release, alpine-release, passwd and group', async () => {
    expect((await exec('bare', 'cat', '/etc/os-release')).stdout).toBe(
      'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.19.0\nPRETTY_NAME="Alpine Linux v3.19"\n' +
        'HOME_URL="https://alpinelinux.org/"\nBUG_REPORT_URL="https://gitlab.alpinelinux.org/alpine/aports/-/issues"\n',
    );
    expect((await exec('bare', 'cat', '/etc/alpine-release')).stdout).toBe('3.19.0\n');
    expect((await sh('bare', 'grep -c "" /etc/passwd /etc/group; grep ^nobody: /etc/passwd; id -un 65534')).stdout).toBe(
      '/etc/passwd:17\n/etc/group:35\nnobody:x:65534:65534:nobody:/:/sbin/nologin\nnobody\n',
    );
    expect((await exec('bare', 'cat', '/etc/resolv.conf')).stdout).toBe('nameserver 1.1.1.1\n');
  });

  it('has a /bin/busybox that looks like one: an ELF header for the guest architecture, links to it', async () => {
    const head = (await sh('bare', 'od -An -tx1 -N 20 /bin/busybox | tr -d "\\n"; echo; uname -m')).stdout.split('\n');
    expect(head[0]).toMatch(/^ 7f 45 4c 46 02 01 01 00 00 00 00 00 00 00 00 00 03 00 (b7|3e) 00$/);
    expect(head[1] === 'aarch64' ? head[0]?.endsWith('b7 00') : head[0]?.endsWith('3e 00')).toBe(true);
    expect((await sh('bare', 'grep -c "BusyBox v1.36.1" /bin/busybox; stat -c "%s %a" /bin/busybox')).stdout).toBe('1\n1024 755\n');
    expect((await sh('bare', 'readlink /usr/bin/sort; which sort ls')).stdout).toBe('/bin/busybox\n/usr/bin/sort\n/bin/ls\n');
    // A name busybox links elsewhere is not found at a path it does not have.
    expect(await exec('bare', '/usr/bin/ls')).toMatchObject({ exitCode: 1, stderr: expect.stringContaining('failed to spawn command') });
  });

  it('widens /root to 0755 and keeps the tmpfs directories sticky', async () => {
    expect((await exec('bare', 'stat', '-c', '%n %a', '/root', '/tmp', '/var/tmp', '/dev/shm')).stdout).toBe(
      '/root 755\n/tmp 1777\n/var/tmp 1777\n/dev/shm 1777\n',
    );
  });

  it('keeps /dev 0755: only /dev/shm under it is sticky', async () => {
    expect((await exec('bare', 'stat', '-c', '%n %a', '/dev', '/dev/shm', '/var')).stdout).toBe('/dev 755\n/dev/shm 1777\n/var 755\n');
  });

  it('has symlinks as Linux makes them: 0777, sized by their target, no blocks', async () => {
    expect((await exec('bare', 'ls', '-l', '/bin/sh')).stdout).toMatch(/^lrwxrwxrwx +1 root +root +12 .* \/bin\/sh -> \/bin\/busybox\n$/);
    expect((await sh('bare', "ln -s d /tmp/l; stat -c '%s %A %b %n' /bin/sh /workspace /tmp/l")).stdout).toBe(
      '12 lrwxrwxrwx 0 /bin/sh\n18 lrwxrwxrwx 0 /workspace\n1 lrwxrwxrwx 0 /tmp/l\n',
    );
  });
});

describe("the agent's /workspace (smolvm-agent main.rs, storage.rs)", () => {
  it("on a bare machine links /workspace to the storage disk's workspace", async () => {
    expect((await sh('bare', 'readlink /workspace; ls /storage; echo x > /workspace/f; cat /storage/workspace/f')).stdout).toBe(
      '/storage/workspace\nconfigs\ncontainers\nlayers\nmanifests\noverlays\nworkspace\nx\n',
    );
  });

  it("on an image machine is a directory (the container's bind mount)", async () => {
    expect((await exec('img', 'stat', '-c', '%F', '/workspace')).stdout).toBe('directory\n');
  });
});

describe('the exec environment (src/agent/launcher.rs, crates/smolvm-agent/src/oci.rs)', () => {
  it("has the agent's HOME, PATH and TERM, and the machine name as hostname", async () => {
    expect((await exec('bare', 'printenv')).stdout).toBe(
      'HOME=/root\nPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nTERM=xterm-256color\n',
    );
    expect((await exec('bare', 'hostname')).stdout).toBe('bare\n');
    // container_hostname: a name that is not a lowercase DNS label falls back to "container".
    expect((await exec('Upper_Name', 'uname', '-n')).stdout).toBe('container\n');
  });
});
