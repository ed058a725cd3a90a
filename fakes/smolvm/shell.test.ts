import { beforeAll, describe, expect, it } from 'vitest';
import { packTar } from '../../src/archive/tar.ts';
import { createFakeSmolvm, type FakeSmolvm } from '../index.ts';

let fake: FakeSmolvm;
const sh = (script: string, ...args: string[]) => fake.run(['smolvm', 'machine', 'exec', '--name', 'vm1', '--', 'sh', '-c', script, ...args]);
const run = (...argv: string[]) => fake.run(['smolvm', 'machine', 'exec', '--name', 'vm1', '--', ...argv]);
const mode = (path: string) => Number(fake.guestFs('vm1').statSync(path).mode) & 0o7777;

beforeAll(async () => {
  fake = createFakeSmolvm();
  await fake.run(['smolvm', 'machine', 'create', '--name', 'vm1']);
  await fake.run(['smolvm', 'machine', 'start', '--name', 'vm1']);
});

describe('sh -c', () => {
  it('runs ; && || in order with short-circuiting', async () => {
    expect((await sh('echo a; false && echo b; false || echo c; true && echo d')).stdout).toBe('a\nc\nd\n');
    expect((await sh('false; echo $?')).stdout).toBe('1\n');
  });

  it('exits with exit N and stops there', async () => {
    expect(await sh('echo before; exit 7; echo after')).toMatchObject({ exitCode: 7, stdout: 'before\n' });
    expect((await sh('false')).exitCode).toBe(1);
  });

  it('redirects with > and >> and 2>&1, creating 0644 files', async () => {
    await sh('echo one > /tmp/r; echo two >> /tmp/r; ls /nope 2>> /tmp/r');
    expect(String(fake.guestFs('vm1').readFileSync('/tmp/r', 'utf8'))).toBe('one\ntwo\nls: /nope: No such file or directory\n');
    expect(mode('/tmp/r')).toBe(0o644);
    expect(await sh('echo out; echo err >&2')).toMatchObject({ stdout: 'out\n', stderr: 'err\n' });
    expect((await sh('ls /nope 2>&1')).stdout).toBe('ls: /nope: No such file or directory\n');
    expect((await sh('ls /nope 2>/dev/null; echo $?')).stdout).toBe('1\n');
  });

  it('reports a redirect into a missing directory', async () => {
    expect(await sh('echo x > /no/such/file')).toMatchObject({
      exitCode: 1,
      stderr: "sh: can't create /no/such/file: nonexistent directory\n",
    });
  });

  it('quotes: single quotes are literal, double quotes expand', async () => {
    const r = await fake.run(['smolvm', 'machine', 'exec', '--name', 'vm1', '-e', 'WHO=world wide', '--', 'sh', '-c', `echo '$WHO' "$WHO" "a  b" it\\'s`]);
    expect(r.stdout).toBe("$WHO world wide a  b it's\n");
  });

  it('splits unquoted expansions into fields', async () => {
    expect((await sh('printf "[%s]" $V; echo')).stdout).toBe('[]\n');
    const r = await fake.run(['smolvm', 'machine', 'exec', '--name', 'vm1', '-e', 'V= a  b ', '--', 'sh', '-c', 'printf "[%s]" $V "$V"; echo']);
    expect(r.stdout).toBe('[a][b][ a  b ]\n');
  });

  it('passes positional args after sh -c SCRIPT NAME', async () => {
    expect((await sh('echo "$0|$1|$2|$#"; printf "<%s>" "$@"; echo', 'myname', 'first arg', 'x')).stdout).toBe('myname|first arg|x|2\n<first arg><x>\n');
  });

  it('supports ${VAR:-default}, assignments, export and cd', async () => {
    expect((await sh("echo ${NOPE:-fallback}; X=1; echo $X; Y=2 sh -c 'echo $Y'; echo ${Y:-unset}")).stdout).toBe('fallback\n1\n2\nunset\n');
    expect((await sh("export Z=3; sh -c 'echo $Z'")).stdout).toBe('3\n');
    expect((await sh('cd /tmp && pwd; cd /nope')).stdout).toBe('/tmp\n');
    expect((await sh('cd /nope')).stderr).toBe("sh: cd: line 0: can't cd to /nope: No such file or directory\n");
  });

  it('reports unknown commands with 127', async () => {
    expect(await sh('definitely-missing --flag')).toMatchObject({
      exitCode: 127,
      stderr: 'sh: definitely-missing: not found\n',
    });
  });

  it('honours set -e', async () => {
    expect(await sh('set -e; echo a; false; echo b')).toMatchObject({ exitCode: 1, stdout: 'a\n' });
    expect(await sh('set -e; false || true; echo kept')).toMatchObject({ exitCode: 0, stdout: 'kept\n' });
  });

  it('pipes stdout into the next command', async () => {
    expect((await sh('printf "a\\nb\\nc\\n" | head -n 2')).stdout).toBe('a\nb\n');
  });

  it('hands stdin to the command that reads it', async () => {
    const r = await fake.run(['smolvm', 'machine', 'exec', '--name', 'vm1', '-i', '--', 'sh', '-c', 'mkdir -p /tmp/in && cat > /tmp/in/f && cat /tmp/in/f'], {
      stdin: 'from stdin',
    });
    expect(r.stdout).toBe('from stdin');
  });

  it('reads a script from stdin when given no -c', async () => {
    const r = await fake.run(['smolvm', 'machine', 'exec', '--name', 'vm1', '-i', '--', 'sh'], { stdin: 'echo scripted\nexit 4\n' });
    expect(r).toMatchObject({ exitCode: 4, stdout: 'scripted\n' });
  });

  it('refuses background jobs, which it does not model, with a syntax error and no half-run', async () => {
    expect(await sh('echo a; sleep 9 & echo b')).toMatchObject({
      exitCode: 2,
      stdout: '',
      stderr: 'sh: syntax error: background jobs (&) are not modelled by the fake smolvm\n',
    });
  });

  it('expands globs', async () => {
    await sh('mkdir -p /g && touch /g/a.txt /g/b.txt /g/c.log');
    expect((await sh('echo /g/*.txt; echo /g/*.none')).stdout).toBe('/g/a.txt /g/b.txt\n/g/*.none\n');
  });
});

describe('applets', () => {
  it('echo and printf', async () => {
    expect((await run('echo', '-n', 'a', 'b')).stdout).toBe('a b');
    expect((await run('printf', '%s-%d|', 'x', '5', 'y', '6')).stdout).toBe('x-5|y-6|');
    expect((await run('printf', 'a\\tb\\n')).stdout).toBe('a\tb\n');
  });

  it('cat reports missing files', async () => {
    expect(await run('cat', '/missing')).toMatchObject({ exitCode: 1, stderr: "cat: can't open '/missing': No such file or directory\n" });
  });

  it('head, wc, cut and sed report an unreadable operand, go on with the rest, and exit 1', async () => {
    await sh("printf 'a:b\\nc:d\\n' > /in");
    expect(await run('head', '-n1', '/nope', '/in')).toMatchObject({
      exitCode: 1,
      stdout: '==> /in <==\na:b\n',
      stderr: 'head: /nope: No such file or directory\n',
    });
    expect(await run('wc', '-l', '/in', '/tmp')).toMatchObject({ exitCode: 1, stdout: '        2 /in\n', stderr: 'wc: /tmp: Is a directory\n' });
    expect(await run('cut', '-d:', '-f2', '/nope', '/in')).toMatchObject({ exitCode: 1, stdout: 'b\nd\n' });
    expect(await run('sed', 's/a/x/', '/in', '/nope')).toMatchObject({ exitCode: 1, stdout: 'x:b\nc:d\n' });
    expect(await run('sed', '-i', 's/c/y/', '/nope', '/in')).toMatchObject({ exitCode: 1, stderr: 'sed: /nope: No such file or directory\n' });
    expect((await run('cat', '/in')).stdout).toBe('a:b\ny:d\n');
    expect((await run('cat', '/in', '/in')).exitCode).toBe(0);
  });

  it('mkdir -p, test, rm -r and rm -f', async () => {
    expect((await sh('mkdir -p /a/b/c && test -d /a/b/c && [ -e /a/b ] && [ ! -f /a ] && echo ok')).stdout).toBe('ok\n');
    expect(mode('/a/b/c')).toBe(0o755);
    expect((await run('mkdir', '/a')).stderr).toBe("mkdir: can't create directory '/a': File exists\n");
    expect((await run('rm', '/a')).stderr).toBe("rm: '/a' is a directory\n");
    expect((await sh('rm -rf /a /never && test ! -e /a && echo gone')).stdout).toBe('gone\n');
    expect((await run('rm', '/never')).stderr).toBe("rm: can't remove '/never': No such file or directory\n");
    expect((await run('[', '-f', '/etc/passwd', ']')).exitCode).toBe(0);
    expect((await run('[', '-d', '/etc/passwd', ']')).exitCode).toBe(1);
    expect((await run('[', 'x')).stderr).toBe('[: missing ]\n');
  });

  it('chmod (octal, symbolic, -R), chown (uid:gid, names, -R) and stat -c', async () => {
    await sh('mkdir -p /p/q && touch /p/q/f && chmod -R 700 /p && chmod u+x,go+r /p/q/f && chown -R 1000:2000 /p');
    expect((await run('stat', '-c', '%a %u %g %U %G %s %n %F', '/p/q/f', '/p/q')).stdout).toBe(
      '744 1000 2000 UNKNOWN UNKNOWN 0 /p/q/f regular empty file\n700 1000 2000 UNKNOWN UNKNOWN 0 /p/q directory\n',
    );
    await sh('echo hi > /p/g && chown root /p/g && chmod 4755 /p/g');
    expect((await run('stat', '-c', '%a %U:%G %s %F %A', '/p/g')).stdout).toBe('4755 root:root 3 regular file -rwsr-xr-x\n');
    expect((await run('chown', 'nobody2', '/p/g')).stderr).toBe('chown: unknown user nobody2\n');
    expect((await run('stat', '-c', '%a', '/missing')).stderr).toBe("stat: can't stat '/missing': No such file or directory\n");
  });

  it('id, env, true, false, head -c from stdin and a file', async () => {
    expect((await run('id', '-g')).stdout).toBe('0\n');
    expect((await run('true')).exitCode).toBe(0);
    expect((await run('false')).exitCode).toBe(1);
    expect((await fake.run(['smolvm', 'machine', 'exec', '--name', 'vm1', '-i', '--', 'head', '-c', '3'], { stdin: 'abcdef' })).stdout).toBe('abc');
    expect((await run('head', '-c', '4', '/etc/passwd')).stdout).toBe('root');
    expect((await run('env', 'ONLY=1', 'sh', '-c', 'echo $ONLY')).stdout).toBe('1\n');
  });

  it('sleep really waits', async () => {
    const t0 = performance.now();
    await run('sleep', '0.2');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(180);
  });

  it('ls lists names and long entries', async () => {
    await sh('mkdir -p /l && touch /l/b /l/a /l/.h');
    expect((await run('ls', '/l')).stdout).toBe('a\nb\n');
    expect((await run('ls', '-a', '/l')).stdout).toBe('.\n..\n.h\na\nb\n');
    expect((await run('ls', '-l', '/l')).stdout).toMatch(/^total 0\n-rw-r--r-- +1 root +root +0 \w{3} [ \d]\d \d\d:\d\d a\n/);
  });
});

describe('tar -x', () => {
  const archive = packTar([
    { path: 'skills', type: 'directory', mode: 0o750, uid: 1000, gid: 1000 },
    { path: 'skills/run.sh', type: 'file', mode: 0o755, uid: 1000, gid: 1000, data: new TextEncoder().encode('#!/bin/sh\n') },
    { path: 'skills/deep/notes.md', type: 'file', mode: 0o600, uid: 1001, gid: 1002, data: new TextEncoder().encode('notes') },
  ]);

  it('extracts from stdin as root, keeping modes and owners and creating missing dirs', async () => {
    const r = await fake.run(['smolvm', 'machine', 'exec', '--name', 'vm1', '-i', '--', 'sh', '-c', 'mkdir -p /dest && tar -x -C /dest'], { stdin: archive });
    expect(r).toMatchObject({ exitCode: 0, stderr: '' });
    const stat = await run('stat', '-c', '%n %a %u:%g', '/dest/skills', '/dest/skills/run.sh', '/dest/skills/deep', '/dest/skills/deep/notes.md');
    expect(stat.stdout).toBe(
      '/dest/skills 750 1000:1000\n/dest/skills/run.sh 755 1000:1000\n/dest/skills/deep 755 0:0\n/dest/skills/deep/notes.md 600 1001:1002\n',
    );
    expect((await run('cat', '/dest/skills/deep/notes.md')).stdout).toBe('notes');
  });

  it('extracts from -f FILE and reports a missing -C dir', async () => {
    fake.guestFs('vm1').writeFileSync('/tmp/a.tar', archive);
    expect((await run('tar', 'xf', '/tmp/a.tar', '-C', '/tmp')).exitCode).toBe(0);
    expect((await run('cat', '/tmp/skills/run.sh')).stdout).toBe('#!/bin/sh\n');
    expect(await run('tar', '-xf', '/tmp/a.tar', '-C', '/nope')).toMatchObject({
      exitCode: 1,
      stderr: "tar: can't change directory to '/nope': No such file or directory\n",
    });
    expect((await run('tar', '-xf', '/etc/alpine-release')).stderr).toBe('tar: short read\n');
    fake.guestFs('vm1').writeFileSync('/tmp/junk', new Uint8Array(1024).fill(65));
    expect((await run('tar', '-xf', '/tmp/junk')).stderr).toBe('tar: invalid tar magic\n');
  });

  it('lists with -t', async () => {
    fake.guestFs('vm1').writeFileSync('/tmp/b.tar', archive);
    expect((await run('tar', '-tf', '/tmp/b.tar')).stdout).toBe('skills/\nskills/run.sh\nskills/deep/notes.md\n');
  });
});
