// The busybox applets of the fake's guest, run in process through the fake smolvm. Each block
// names the busybox 1.36.1 source its behaviour was read from; outputs were checked against a
// real busybox (Debian's 1.35.0 where 1.36.1 does not differ, musl's getopt texts for Alpine).
import { beforeAll, describe, expect, it } from 'vitest';
import { createFakeSmolvm, type FakeSmolvm } from '../../index.ts';

let fake: FakeSmolvm;
const sh = (script: string, stdin?: string) =>
  fake.run(
    ['smolvm', 'machine', 'exec', '--name', 'a', '-w', '/w', ...(stdin === undefined ? [] : ['-i']), '--', 'sh', '-c', script],
    stdin === undefined ? {} : { stdin },
  );
const out = async (script: string, stdin?: string) => (await sh(script, stdin)).stdout;

beforeAll(async () => {
  fake = createFakeSmolvm({ clock: () => Date.UTC(2026, 0, 2, 3, 4, 5) });
  await fake.run(['smolvm', 'machine', 'create', '--name', 'a']);
  await fake.run(['smolvm', 'machine', 'start', '--name', 'a']);
  await fake.run([
    'smolvm',
    'machine',
    'exec',
    '--name',
    'a',
    '--',
    'sh',
    '-c',
    "mkdir -p /w/g/s && cd /w && printf 'one\\ntwo\\nthree\\n' > s && printf 'b 2\\na 10\\nc 1\\na 10\\n' > so && printf 'hi\\nho\\n' > g/a && printf 'x hi\\n' > g/s/b",
  ]);
});

describe('option parsing (libbb/getopt32.c over musl getopt_long)', () => {
  it('permutes options past operands, honours --, clusters and attached values', async () => {
    expect(await out('tail s -n 1')).toBe('three\n');
    expect(await out('head -n1 -- s')).toBe('one\n');
    // head.c uses plain getopt(): no permuting, so `-n` after a file is a file.
    expect(await sh('head -q s -n 1')).toMatchObject({ exitCode: 1, stderr: 'head: -n: No such file or directory\nhead: 1: No such file or directory\n' });
    expect(await out('grep -nv o s')).toBe('3:three\n');
    expect(await sh('tail --lines=1 s')).toMatchObject({ exitCode: 1, stderr: expect.stringMatching(/^tail: unrecognized option: lines=1\n/) });
  });

  it("refuses an unknown option with musl's text, then the usage, exit 1 (grep: 2)", async () => {
    expect(await sh('uname -z')).toMatchObject({
      exitCode: 1,
      stderr: 'uname: unrecognized option: z\nBusyBox v1.36.1 multi-call binary.\n\nUsage: uname [-amnrspvio]\n\nPrint system information\n',
    });
    expect((await sh('cut -d')).stderr).toMatch(/^cut: option requires an argument: d\nBusyBox v1\.36\.1/);
    expect((await sh('grep --frob x s')).exitCode).toBe(2);
    expect((await sh('grep --frob x s')).stderr).toMatch(/^grep: unrecognized option: frob\n/);
    expect((await sh('/bin/ls -Q')).stderr).toMatch(/^\/bin\/ls: unrecognized option: Q\n/);
  });

  it('refuses, in one line, an option busybox has but the fake does not model', async () => {
    expect(await sh('tail -f s')).toMatchObject({ exitCode: 1, stderr: 'tail: -f is not modelled by the fake smolvm\n' });
  });
});

describe('printenv (coreutils/printenv.c)', () => {
  it('prints named variables, exit 1 when one is unset, all without operands', async () => {
    expect(await sh('printenv HOME NOPE')).toMatchObject({ exitCode: 1, stdout: '/root\n' });
    expect(await out('env -i A=1 B=2 printenv')).toBe('A=1\nB=2\n');
  });
});

describe('cp (coreutils/cp.c, libbb/copy_file.c)', () => {
  it('copies files and trees; refuses a directory without -r and a missing source', async () => {
    expect(await out('cp s s2 && cat s2 && cp -r g g2 && find g2 | sort')).toBe('one\ntwo\nthree\ng2\ng2/a\ng2/s\ng2/s/b\n');
    expect(await sh('cp g x')).toMatchObject({ exitCode: 1, stderr: "cp: omitting directory 'g'\n" });
    expect((await sh('cp nope x')).stderr).toBe("cp: can't stat 'nope': No such file or directory\n");
    expect((await sh('cp s nodir/x')).stderr).toBe("cp: can't create 'nodir/x': No such file or directory\n");
    expect(await out('mkdir -p d && cp s g/a d && ls d')).toBe('a\ns\n');
  });

  it('gives a new file the source mode less the umask, all of it and the owner with -p', async () => {
    expect(await out('chmod 4777 s2 && cp s2 s3 && cp -p s2 s4 && stat -c %a s3 s4')).toBe('755\n4777\n');
  });
});

describe('mkdir (coreutils/mkdir.c, libbb/make_directory.c)', () => {
  it('names the prefix -p failed at, keeps an existing directory, refuses an existing file', async () => {
    expect(await sh('mkdir -p s/x/y')).toMatchObject({ exitCode: 1, stderr: "mkdir: can't create directory 's/': Not a directory\n" });
    expect((await sh('mkdir -p s')).stderr).toBe("mkdir: can't create directory 's': File exists\n");
    expect(await sh('mkdir -p ./m1//m2/ g && mkdir -vm 700 m3 && stat -c %a m1/m2 m3')).toMatchObject({
      exitCode: 0,
      stdout: "created directory: 'm3'\n755\n700\n",
    });
    expect((await sh('mkdir g')).stderr).toBe("mkdir: can't create directory 'g': File exists\n");
  });
});

describe('ln, readlink, realpath (coreutils/ln.c, readlink.c, realpath.c, libbb/xreadlink.c)', () => {
  it('makes symlinks, reads and resolves them', async () => {
    expect(await out('ln -s s lnk && readlink lnk && readlink -f lnk && realpath lnk /w/nope')).toBe('s\n/w/s\n/w/s\n/w/nope\n');
    expect(await sh('ln -s s lnk')).toMatchObject({ exitCode: 1, stderr: 'ln: lnk: File exists\n' });
    expect(await sh('readlink s')).toMatchObject({ exitCode: 1, stderr: '' });
    expect(await sh('realpath nope')).toMatchObject({ exitCode: 1, stderr: 'realpath: nope: No such file or directory\n' });
    expect(await out('ln s hard && stat -c %h s')).toBe('2\n');
  });
});

describe('grep (findutils/grep.c)', () => {
  it('matches basic and extended regexes with its flags', async () => {
    expect(await out('grep -n t s')).toBe('2:two\n3:three\n');
    expect(await out('grep -c o s g/a')).toBe('s:2\ng/a:1\n');
    expect(await out("grep '\\(h\\)i' g/a; grep -E 'h(i|o)$' g/a; grep -o 'h.' g/a")).toBe('hi\nhi\nho\nhi\nho\n');
    expect(await out('grep -w hi g/s/b; grep -x hi g/a; grep -i HI g/a; grep -F . s; echo $?')).toBe('x hi\nhi\nhi\n1\n');
    expect(await out('grep -A1 hi g/a; grep -m1 h g/a')).toBe('hi\nho\nhi\n');
    expect(await out('grep -r hi g | sort; grep -rl hi g | sort')).toBe('g/a:hi\ng/s/b:x hi\ng/a\ng/s/b\n');
  });

  it('exits 1 without a match and 2 when a file cannot be opened', async () => {
    expect(await sh('grep zz s')).toMatchObject({ exitCode: 1, stdout: '' });
    expect(await sh('grep hi nope')).toMatchObject({ exitCode: 2, stderr: 'grep: nope: No such file or directory\n' });
    expect(await sh('grep -q hi g/a nope')).toMatchObject({ exitCode: 0 });
    expect(await sh("grep '\\(' s")).toMatchObject({ exitCode: 2, stderr: "grep: bad regex '\\(': Missing ')'\n" });
  });
});

describe('sed (editors/sed.c)', () => {
  it('runs addresses, ranges and the common commands', async () => {
    expect(await out("sed -n 2p s; sed '2d;s/o/0/g' s")).toBe('two\n0ne\nthree\n');
    expect(await out("sed '1a added' s | head -2; sed '$i ins' s | tail -2; sed '2c changed' s | sed -n 2p")).toBe('one\nadded\nins\nthree\nchanged\n');
    expect(await out("sed -n '/two/,$p' s; sed 'y/ot/OT/' s | head -1; sed -n '$=' s")).toBe('two\nthree\nOne\n3\n');
    expect(await out("sed '1!G;h;$!d' s; sed 'N;P;D' s | wc -l; sed 2,3d s; sed 1q s")).toBe('three\ntwo\none\n3\none\none\n');
    expect(await out("sed 's/\\(o\\)\\(n\\)/\\2\\1/' s | head -1; sed -E 's/(t)(w)/\\2\\1/' s | sed -n 2p")).toBe('noe\nwto\n');
  });

  it('substitutes like busybox: the Nth match, g (last flag wins), no empty match after a match', async () => {
    expect(await out("echo abc | sed 's/b*/X/g'; echo aaa | sed 's/a/b/2'; echo aaa | sed 's/a/b/2g'")).toBe('XaXcX\naba\nbbb\n');
    expect(await out("printf 'a\\n' | sed 's/a/x\\ny/'")).toBe('x\ny\n');
  });

  it('edits in place with -i and reports its errors', async () => {
    expect(await out("cp s e && sed -i.bak 's/one/1/' e && cat e e.bak | head -4")).toBe('1\ntwo\nthree\none\n');
    expect(await sh("sed 's/a' s")).toMatchObject({ exitCode: 1, stderr: "sed: unmatched '/'\n" });
    expect((await sh('sed k s')).stderr).toBe('sed: unsupported command k\n');
    expect((await sh("sed 'b foo' s")).stderr).toBe("sed: can't find label for jump to 'foo'\n");
    expect((await sh('sed -n p nope')).stderr).toBe('sed: nope: No such file or directory\n');
  });
});

describe('head, tail (coreutils/head.c, tail.c)', () => {
  it('counts lines and bytes from either end', async () => {
    expect(await out('tail -n 2 s; tail -1 s; tail -n +3 s; tail -c 4 s')).toBe('two\nthree\nthree\nthree\nree\n');
    expect(await out('head -n -1 s; head -c 3 s; echo')).toBe('one\ntwo\none\n');
    expect(await sh('tail -n 1 nope')).toMatchObject({ exitCode: 1, stderr: "tail: can't open 'nope': No such file or directory\ntail: no files\n" });
  });
});

describe('sort, uniq (coreutils/sort.c, uniq.c)', () => {
  it('sorts by keys and numbers, with the whole-line tie-break, and folds duplicates', async () => {
    expect(await out('sort so')).toBe('a 10\na 10\nb 2\nc 1\n');
    expect(await out('sort -n -k2 so | head -2; sort -u so | wc -l; sort -t " " -k2,2nr so | head -1')).toBe('c 1\nb 2\n3\na 10\n');
    expect(await out('sort so | uniq -c; sort so | uniq -d; sort so | uniq -u | head -1')).toBe('      2 a 10\n      1 b 2\n      1 c 1\na 10\nb 2\n');
    expect(await sh('sort -c so')).toMatchObject({ exitCode: 1, stderr: 'Check line 1\n' });
    expect(await sh('sort nope')).toMatchObject({ exitCode: 2, stderr: 'sort: nope: No such file or directory\n' });
  });
});

describe('cut, tr (coreutils/cut.c, tr.c)', () => {
  it('cuts fields and characters, translates, deletes and squeezes', async () => {
    expect(await out("cut -d ' ' -f 2 so | head -2; cut -c 1-2 s | head -1; cut -d: -f1,3 /etc/passwd | head -1")).toBe('2\n10\non\nroot:0\n');
    expect(await out('echo hello | tr a-z A-Z; tr -d o < s | head -1; echo aabbcc | tr -s ab; echo a1b2 | tr -d "[:digit:]"')).toBe('HELLO\nne\nabcc\nab\n');
    expect(await sh('cut s')).toMatchObject({ exitCode: 1, stderr: 'cut: expected a list of bytes, characters, or fields\n' });
  });
});

describe('find, xargs (findutils/find.c, xargs.c)', () => {
  it('walks with tests, operators and actions', async () => {
    expect(await out("find g | sort; find g -name 'a*'; find g -type d -maxdepth 1")).toBe('g\ng/a\ng/s\ng/s/b\ng/a\ng\ng/s\n');
    expect(await out('find g -type f -exec echo X {} \\; | sort; find g -type f -exec echo {} +')).toBe('X g/a\nX g/s/b\ng/a g/s/b\n');
    expect(await out('find g \\( -name b -o -name a \\) -print | sort; find g -path g/s -prune -o -type f -print')).toBe('g/a\ng/s/b\ng/a\n');
    expect(await sh('find nope')).toMatchObject({ exitCode: 1, stderr: 'find: nope: No such file or directory\n' });
    expect((await sh('find . -frob')).stderr).toMatch(/^find: unrecognized: -frob\nBusyBox/);
    expect((await sh('find g -type q')).stderr).toBe("find: invalid argument 'q' to '-type'\n");
  });

  it('builds command lines from stdin', async () => {
    expect(await out('seq 5 | xargs; seq 5 | xargs -n 2 echo X; printf "a\\nb c\\n" | xargs -I{} echo [{}]')).toBe(
      '1 2 3 4 5\nX 1 2\nX 3 4\nX 5\n[a]\n[b c]\n',
    );
    expect(await sh('echo a | xargs false')).toMatchObject({ exitCode: 123 });
    expect(await sh('echo "it\'s" | xargs echo')).toMatchObject({ exitCode: 1, stderr: 'xargs: unmatched single quote\n' });
  });
});

describe('uname, hostname, date (coreutils/uname.c, networking/hostname.c, coreutils/date.c)', () => {
  it('reports the guest kernel, the machine name and the guest clock (UTC)', async () => {
    expect(await out('uname; uname -o; uname -r; hostname')).toBe(`Linux\nLinux\n6.12.87\na\n`);
    expect(await out('uname -m')).toMatch(/^(aarch64|x86_64)\n$/);
    expect(await out('date; date -u +%Y-%m-%dT%H:%M:%SZ; date -d @0; date -d "2024-01-02 03:04:05" +%s; date -I')).toBe(
      'Fri Jan  2 03:04:05 UTC 2026\n2026-01-02T03:04:05Z\nThu Jan  1 00:00:00 UTC 1970\n1704164645\n2026-01-02\n',
    );
    expect(await sh('date -d nonsense')).toMatchObject({ exitCode: 1, stderr: "date: invalid date 'nonsense'\n" });
  });
});

describe('mktemp, tee, dd (coreutils/mktemp.c, tee.c, dd.c)', () => {
  it('makes temporary files and directories from a template', async () => {
    const made = await out('f=$(mktemp) && d=$(mktemp -d /tmp/dirXXXXXX) && stat -c "%n %a %F" "$f" "$d"');
    expect(made).toMatch(/^\/tmp\/tmp\.[A-Za-z0-9]{6} 600 regular empty file\n\/tmp\/dir[A-Za-z0-9]{6} 700 directory\n$/);
    expect(await sh('mktemp /tmp/xXX')).toMatchObject({ exitCode: 1, stderr: 'mktemp: Invalid argument\n' });
  });

  it('copies stdin with tee and blocks with dd, reporting records on stderr', async () => {
    expect(await sh('echo hi | tee t1 /nodir/x; cat t1')).toMatchObject({ stdout: 'hi\nhi\n', stderr: 'tee: /nodir/x: No such file or directory\n' });
    expect(await sh('printf hello | dd bs=2 count=2')).toMatchObject({ stdout: 'hell', stderr: '2+0 records in\n2+0 records out\n' });
    expect(await sh('printf hello | dd bs=1 skip=2 of=dd.out status=none; cat dd.out')).toMatchObject({ stdout: 'llo', stderr: '' });
  });
});

describe('base64, od, sums (coreutils/uudecode.c, od_bloaty.c, md5_sha1_sum.c)', () => {
  it('encodes, decodes, dumps and hashes', async () => {
    expect(await out("printf 'hello world\\n' | base64; echo aGVsbG8K | base64 -d")).toBe('aGVsbG8gd29ybGQK\nhello\n');
    expect(await sh('printf aGVsbG8 | base64 -d')).toMatchObject({ exitCode: 1, stdout: 'hel', stderr: 'base64: truncated input\n' });
    expect(await out('printf abc | od; printf abc | od -c; printf abc | od -An -tx1')).toBe(
      '0000000 061141 000143\n0000003\n0000000   a   b   c\n0000003\n 61 62 63\n',
    );
    expect(await out('printf abc | md5sum; printf abc | sha1sum')).toBe('900150983cd24fb0d6963f7d28e17f72  -\na9993e364706816aba3e25717850c26c9cd0d89d  -\n');
    expect(await sh('md5sum s > sums && md5sum -c sums && echo x >> s && md5sum -c sums')).toMatchObject({
      exitCode: 1,
      stdout: 's: OK\ns: FAILED\n',
      stderr: 'md5sum: WARNING: 1 of 1 computed checksums did NOT match\n',
    });
  });
});

describe('seq, expr (coreutils/seq.c, expr.c)', () => {
  it('counts and evaluates', async () => {
    expect(await out('seq 3; seq 1 2 5 | tr "\\n" " "; seq -s, 3; seq -w 8 10 | head -1; seq 1.5 3')).toBe('1\n2\n3\n1 3 5 1,2,3\n08\n1.5\n2.5\n');
    expect(await out("expr 1 + 2; expr 5 \\* 3; expr length hello; expr substr hello 2 3; expr hello : 'h\\(.*\\)o'")).toBe('3\n15\n5\nell\nell\n');
    expect(await sh('expr 0')).toMatchObject({ exitCode: 1, stdout: '0\n' });
    expect(await sh('expr 1 / 0')).toMatchObject({ exitCode: 2, stderr: 'expr: division by zero\n' });
    expect(await sh('expr a + 1')).toMatchObject({ exitCode: 2, stderr: 'expr: non-numeric argument\n' });
  });
});

describe('ls (coreutils/ls.c)', () => {
  it('recurses with -R, headed by each directory', async () => {
    expect(await out('ls -R g')).toBe('g:\na\ns\n\ng/s:\nb\n');
    expect(await out('ls -1 s g')).toBe('s\n\ng:\na\ns\n');
    expect(await out('ls -F g; ls -d g')).toBe('a\ns/\ng\n');
    expect(await sh('ls nope')).toMatchObject({ exitCode: 1, stderr: 'ls: nope: No such file or directory\n' });
  });
});

describe('programs the fake does not have', () => {
  it('are reported by the shell in one recognizable line, exit 127', async () => {
    expect(await sh('awk 1 s')).toMatchObject({ exitCode: 127, stdout: '', stderr: 'sh: awk: not found\n' });
    // libbb/appletlib.c: the multi-call binary names what it lacks.
    expect(await sh('busybox awk 1 s')).toMatchObject({ exitCode: 127, stderr: 'awk: applet not found\n' });
  });

  it('run through the busybox multi-call binary when it has them', async () => {
    expect(await out('busybox echo via busybox; /bin/busybox basename /a/b')).toBe('via busybox\nb\n');
  });

  it('are named by a busybox link busybox has no applet for (appletlib.c run_applet_and_exit)', async () => {
    expect(await sh('ln -s /bin/busybox /tmp/awk; /tmp/awk 1 s')).toMatchObject({ exitCode: 127, stderr: 'awk: applet not found\n' });
  });
});

describe('busybox --list (libbb/appletlib.c busybox_main)', () => {
  it('prints the applet names one a line, sorted; --list-full with their install dirs', async () => {
    const list = await out('busybox --list');
    expect(list).toMatch(/^\[\nash\nbase64\nbasename\n(.+\n)+xargs\n$/);
    const names = list.trimEnd().split('\n');
    expect(names).toEqual(expect.arrayContaining(['ls', 'sh', 'test']));
    expect(names).toEqual([...names].sort());
    expect(await out('busybox --list-full | grep -e "/ls$" -e "/wc$" -e "/sh$"')).toBe('bin/ls\nbin/sh\nusr/bin/wc\n');
  });
});

describe('mtime comparisons (findutils/find.c func_newer, coreutils/test.c binop: st_mtime)', () => {
  it('compare whole seconds; test -nt/-ot are false when either file is missing', async () => {
    await sh(': > t1; : > t2; : > t3');
    const vol = fake.guestFs('a');
    vol.utimesSync('/w/t1', 1_700_000_000.1, 1_700_000_000.1);
    vol.utimesSync('/w/t2', 1_700_000_000.9, 1_700_000_000.9);
    vol.utimesSync('/w/t3', 1_700_000_001, 1_700_000_001);
    expect(await out('find . -name "t?" -newer t1')).toBe('./t3\n');
    expect(await out('[ t2 -nt t1 ] || echo same; [ t1 -ot t2 ] || echo same; [ t3 -nt t2 ] && [ t2 -ot t3 ] && echo older')).toBe('same\nsame\nolder\n');
    expect(await out('[ t1 -nt none ] || echo no; [ none -ot t1 ] || echo no')).toBe('no\nno\n');
  });
});
