// The guest's `sh`, read from busybox 1.36.1 shell/ash.c and checked against a real busybox
// ash: compound commands, functions, expansions, set -e and ash's error texts.
import { beforeAll, describe, expect, it } from 'vitest';
import { createFakeSmolvm, type FakeSmolvm } from '../../index.ts';

let fake: FakeSmolvm;
const exec = (argv: string[], stdin?: string) =>
  fake.run(
    ['smolvm', 'machine', 'exec', '--name', 'a', '-w', '/w', ...(stdin === undefined ? [] : ['-i']), '--', ...argv],
    stdin === undefined ? {} : { stdin },
  );
const sh = (script: string, ...args: string[]) => exec(['sh', '-c', script, ...args]);
const out = async (script: string) => (await sh(script)).stdout;

beforeAll(async () => {
  fake = createFakeSmolvm();
  await fake.run(['smolvm', 'machine', 'create', '--name', 'a']);
  await fake.run(['smolvm', 'machine', 'start', '--name', 'a']);
  await fake.run(['smolvm', 'machine', 'exec', '--name', 'a', '--', 'sh', '-c', "mkdir -p /w && printf 'one\\ntwo\\n' > /w/s"]);
});

describe('compound commands (ash.c parse_command)', () => {
  it('if/elif/else/fi, case with patterns, for/while/until with break and continue', async () => {
    expect(await out('if false; then echo 1; elif true; then echo 2; else echo 3; fi')).toBe('2\n');
    expect(await out('for x in a.txt b.log "c d"; do case $x in *.txt) echo "$x text";; (*.log|*.out) echo "$x log";; *) echo "[$x]";; esac; done')).toBe(
      'a.txt text\nb.log log\n[c d]\n',
    );
    expect(await out('for i in 1 2 3 4; do [ $i = 2 ] && continue; [ $i = 4 ] && break; echo $i; done')).toBe('1\n3\n');
    expect(await out('i=0; while [ $i -lt 3 ]; do i=$((i+1)); done; until [ $i -eq 0 ]; do i=$((i-1)); printf $i; done; echo')).toBe('210\n');
    expect(await out('for i in 1 2; do for j in a b; do [ $j = b ] && continue 2; echo $i$j; done; done')).toBe('1a\n2a\n');
    expect(await out('set -- x y; for a; do echo $a; done')).toBe('x\ny\n');
  });

  it('{ } groups, ( ) subshells keep their changes inside, redirections apply to the whole', async () => {
    expect(await out('x=1; (x=2; cd /; echo $x $PWD); echo $x $PWD')).toBe('2 /\n1 /w\n');
    expect(await out('{ echo a; echo b; } > grp; cat grp; (exit 3); echo $?')).toBe('a\nb\n3\n');
    expect(await out('while read l; do echo "<$l>"; done < s')).toBe('<one>\n<two>\n');
    expect(await out('if true; then echo to-err; fi 2>&1 >/dev/null | wc -l')).toBe('0\n');
  });
});

describe('functions and status (ash.c evalfun, localcmd)', () => {
  it('defines functions with positional parameters, local, return and $?', async () => {
    expect(await out('f() { echo "$# [$1] [$2]"; return 7; }; f a "b c"; echo $?')).toBe('2 [a] [b c]\n7\n');
    expect(await out('v=0; g() { local v=1; echo $v; }; g; echo $v')).toBe('1\n0\n');
    expect(await out('f() { echo f$1; }; x=7 f 1; echo "[$x]"')).toBe('f1\n[]\n');
    expect(await sh('local x')).toMatchObject({ exitCode: 2, stderr: 'sh: local: line 0: not in a function\n' });
  });

  it('$? and pipelines: the last command decides, ! negates', async () => {
    expect(await out('false | true; echo $?; true | false; echo $?; ! false; echo $?')).toBe('0\n1\n0\n');
    expect(await out("printf 'b\\na\\nb\\n' | sort | uniq -c | sort -rn | head -1")).toBe('      2 b\n');
  });
});

describe('expansions (ash.c expandarg, subevalvar, arith)', () => {
  it('command substitution, nested and with backquotes, strips trailing newlines', async () => {
    expect(await out('echo $(echo nested $(echo deep)); x=`echo bq`; echo "$x"; echo "$(printf "x\\n\\n")|"')).toBe('nested deep\nbq\nx|\n');
    expect(await out('a=$(false); echo $?; echo $(( 1 + $(echo 2) ))')).toBe('1\n3\n');
  });

  it('parameter operators and arithmetic', async () => {
    expect(await out('v=abc.tar.gz; echo ${#v} ${v%.*} ${v%%.*} ${v#*.} ${v##*.} ${v:-d} ${u:-d} ${u=set}$u ${v:+alt} ${v/tar/zip}')).toBe(
      '10 abc.tar abc tar.gz gz abc.tar.gz d setset alt abc.zip.gz\n',
    );
    expect(await out('echo $((2+3*4)) $((7/2)) $((7%3)) $((1<2)) $((x=5)) $x $((x+=1)) $((2**10)) $((-3)) $((0x10)) $((010)) $((1?2:3))')).toBe(
      '14 3 1 1 5 5 6 1024 -3 16 8 2\n',
    );
    expect(await sh('echo $((1/0))')).toMatchObject({ exitCode: 2, stderr: 'sh: divide by zero\n' });
    expect(await sh('echo $(( 08 ))')).toMatchObject({ exitCode: 2, stderr: 'sh: arithmetic syntax error\n' });
    expect(await sh('echo ${y?}; echo after')).toMatchObject({ exitCode: 2, stdout: '', stderr: 'sh: y: parameter not set\n' });
    expect(await sh('x=; echo ${x:?}')).toMatchObject({ exitCode: 2, stderr: 'sh: x: parameter not set or null\n' });
  });

  it('field splitting on IFS, "$@" and "$*", quoting', async () => {
    expect(await out('set -- a "b c"; for i in "$@"; do echo "[$i]"; done; echo "$*"; IFS=,; echo "$*"')).toBe('[a]\n[b c]\na b c\na,b c\n');
    expect(await out('x="a  b"; printf "[%s]" $x "$x"; echo; IFS=:; set -- $(echo 1:2::3); echo $#')).toBe('[a][b][a  b]\n4\n');
    expect(await out(`echo 'it''s' "a\\"b" a\\ b ~ ~/x`)).toBe('its a"b a b /root /root/x\n');
  });

  it('here-documents, expanded unless the delimiter is quoted, tabs stripped with <<-', async () => {
    expect(await out('cat <<EOF\nhome=$HOME $((1+1))\nEOF\ncat <<"EOF"\n$HOME\nEOF\ncat <<-EOF\n\tindented\n\tEOF')).toBe('home=/root 2\n$HOME\nindented\n');
    expect(await out('read a b <<EOF\n1 2 3\nEOF\necho "$a|$b"; IFS=: read c d <<EOF\nx:y:z\nEOF\necho "$c|$d"')).toBe('1|2 3\nx|y:z\n');
  });
});

describe('set -e, -u, -x (ash.c evaltree, EV_TESTED)', () => {
  it('-e stops on a failing command, but not in conditions, && lists or after !', async () => {
    expect(await sh('set -e; echo a; false; echo b')).toMatchObject({ exitCode: 1, stdout: 'a\n' });
    expect(await out('set -e; if false; then :; fi; false || true; false && true; ! true; echo ok')).toBe('ok\n');
    expect(await sh('set -e; x=$(false); echo no')).toMatchObject({ exitCode: 1, stdout: '' });
    expect(await sh('set -e; (false); echo no')).toMatchObject({ exitCode: 1, stdout: '' });
    expect(await out('set -e; f() { false; echo inside; }; f || echo handled')).toBe('inside\n');
    expect(await out('set -e; echo $-')).toBe('ce\n');
  });

  it('-u refuses unset variables, -x traces commands on stderr', async () => {
    expect(await sh('set -u; echo $nope')).toMatchObject({ exitCode: 2, stderr: 'sh: nope: parameter not set\n' });
    expect(await sh('set -x; echo "a b" c; x=1')).toMatchObject({ stdout: 'a b c\n', stderr: "+ echo 'a b' c\n+ x=1\n" });
  });
});

describe('builtins (ash.c builtintab)', () => {
  it('export reaches commands, plain variables do not; exit, eval, trap, ., command, type', async () => {
    expect(await out("export A=1; B=2; sh -c 'echo [$A][$B]'; C=3 sh -c 'echo [$C]'")).toBe('[1][]\n[3]\n');
    expect(await sh('echo a; exit 300; echo b')).toMatchObject({ exitCode: 44, stdout: 'a\n' });
    expect(await out("eval 'echo a; echo b'; trap 'echo bye' EXIT; echo hi")).toBe('a\nb\nhi\nbye\n');
    expect(await out("echo 'echo sourced $1' > lib.sh; . ./lib.sh x")).toBe('sourced x\n');
    expect(await sh('command -v ls cd nosuch; echo $?; type ls; f(){ :; }; type f')).toMatchObject({
      stdout: '/bin/ls\ncd\n127\nls is /bin/ls\nf is a function\n',
    });
    expect(await out('cd /tmp; echo $PWD; cd - >/dev/null; pwd; umask 027; umask')).toBe('/tmp\n/w\n0027\n');
  });

  it("exec with redirections only changes the shell's fds", async () => {
    expect(await out('exec 3>fd3; echo hi >&3; cat fd3; exec 2>&1; ls /nope')).toBe('hi\nls: /nope: No such file or directory\n');
  });
});

describe('errors, as ash prints them (ash.c ash_vmsg)', () => {
  it.each([
    ['if true; then', 'sh: syntax error: unexpected end of file (expecting "fi")\n'],
    ['if true; echo x; fi', 'sh: syntax error: unexpected "fi" (expecting "then")\n'],
    ['echo )', 'sh: syntax error: unexpected ")"\n'],
    ['case x a) ;; esac', 'sh: syntax error: unexpected word (expecting "in")\n'],
    ['echo "abc', 'sh: syntax error: unterminated quoted string\n'],
    ['echo ${1a}', 'sh: syntax error: bad substitution\n'],
    ['echo $((1+', "sh: syntax error: missing '))'\n"],
  ])('%j', async (script, stderr) => {
    expect(await sh(script)).toMatchObject({ exitCode: 2, stdout: '', stderr });
  });

  it('names the script and its line when -c is given a name', async () => {
    expect(await sh('echo ok\nnosuch', 'myname')).toMatchObject({ exitCode: 127, stdout: 'ok\n', stderr: 'myname: line 1: nosuch: not found\n' });
    expect((await sh('cd /nope', 'nm')).stderr).toBe("nm: cd: line 0: can't cd to /nope: No such file or directory\n");
    expect((await sh('if', 'nm')).stderr).toBe('nm: line 0: syntax error: unexpected end of file (expecting "then")\n');
    expect(await sh('nosuch')).toMatchObject({ exitCode: 127, stderr: 'sh: nosuch: not found\n' });
  });

  it('keeps going after a failing regular builtin or redirection, stops after a fatal one', async () => {
    expect(await sh('cd /nope; echo after $?')).toMatchObject({ exitCode: 0, stdout: 'after 2\n' });
    expect(await sh('echo x >/nodir/x; echo after $?')).toMatchObject({ stdout: 'after 1\n', stderr: "sh: can't create /nodir/x: nonexistent directory\n" });
    expect(await sh('cat </nope || echo handled')).toMatchObject({ stdout: 'handled\n', stderr: "sh: can't open /nope: no such file\n" });
    expect(await sh('readonly r=1; r=2; echo after')).toMatchObject({ exitCode: 2, stdout: '', stderr: 'sh: r: is read only\n' });
    expect(await sh('exit abc')).toMatchObject({ exitCode: 2, stderr: 'sh: exit: line 0: Illegal number: abc\n' });
  });

  it('runs a script file with line numbers from 1, and scripts from stdin', async () => {
    await sh("printf 'echo a\\nnosuch\\n' > /w/s.sh");
    expect(await exec(['sh', '/w/s.sh'])).toMatchObject({ exitCode: 127, stdout: 'a\n', stderr: '/w/s.sh: line 2: nosuch: not found\n' });
    expect(await exec(['sh', '-s', 'x'], 'echo $0 $1 $-')).toMatchObject({ stdout: 'sh x s\n' });
    expect(await exec(['sh', '-Q'])).toMatchObject({ exitCode: 2, stderr: 'sh: illegal option -Q\n' });
  });
});
