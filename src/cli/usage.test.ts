// The command line itself: help, version, did-you-mean, and exit 2 with one line for every usage error.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BACKENDS } from './backends.ts';
import { runCli } from './capture.ts';
import { HELP } from './main.ts';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
// No engine, no state: a usage error must be found before either is looked at.
const env = { PATH: '', CLAUDE_BOTTLE_STATE_DIR: '/nonexistent/claude-bottle-usage-test', SMOLVM_BIN: '/nonexistent', DOCKER_BIN: '/nonexistent' };
const cli = (...argv: string[]) => runCli(argv, env);

describe('help and version', () => {
  it('--help and help print the overview on stdout, exit 0; a bare claude-bottle prints it on stderr, exit 2', async () => {
    for (const argv of [['--help'], ['-h'], ['help']]) {
      const r = await cli(...argv);
      expect(r, argv.join(' ')).toEqual({ exitCode: 0, stdout: `${HELP}\n`, stderr: '' });
    }
    expect(await cli()).toEqual({ exitCode: 2, stdout: '', stderr: `${HELP}\n` });
  });

  it('--version and -V print the package version', async () => {
    expect(await cli('--version')).toEqual({ exitCode: 0, stdout: `${VERSION}\n`, stderr: '' });
    expect((await cli('-V')).stdout).toBe(`${VERSION}\n`);
  });

  it('every command has its own help: its usage, its options and examples, not the overview', async () => {
    const commands: [string[], RegExp, string][] = [
      [['launch'], /^Usage: claude-bottle launch \[options\] <agent-file>/, '--backend <name>'],
      [['claude'], /^Usage: claude-bottle claude <bottle> \[--env KEY\[=VALUE\]\]… \[-- <claude args…>\]/, '--env <KEY[=VALUE]>'],
      [['exec'], /^Usage: claude-bottle exec <bottle> \[--env KEY\[=VALUE\]\]… -- <argv…>/, '--env <KEY[=VALUE]>'],
      [['ls'], /^Usage: claude-bottle ls \[options\]/, '--json'],
      [['rm'], /^Usage: claude-bottle rm \[options\] <bottle>/, '--json'],
      [['prune'], /^Usage: claude-bottle prune \[options\]/, '--orphans'],
      [['doctor'], /^Usage: claude-bottle doctor \[options\]/, '--json'],
      [['image'], /^Usage: claude-bottle image \[options\] \[command\]/, 'build'],
      [['image', 'build'], /^Usage: claude-bottle image build \[options\]/, '--force'],
      [['image', 'status'], /^Usage: claude-bottle image status \[options\]/, '--json'],
    ];
    for (const [path, usage, option] of commands) {
      const r = await cli(...path, '--help');
      expect(r.exitCode, path.join(' ')).toBe(0);
      expect(r.stdout, path.join(' ')).toMatch(usage);
      expect(r.stdout, path.join(' ')).toContain(option);
      expect(r.stdout, path.join(' ')).toMatch(/\nExamples:\n {2}claude-bottle /);
      expect(r.stdout).not.toContain('Exit codes:');
      expect((await cli('help', ...path)).stdout, `help ${path.join(' ')}`).toBe(r.stdout);
    }
  });

  // The help is static (it loads no engine code): a backend added to BACKENDS must be added to it too.
  it('the overview and the --backend help name every backend there is', async () => {
    const launch = (await cli('launch', '--help')).stdout;
    for (const backend of BACKENDS) {
      expect(HELP).toContain(`[--backend ${BACKENDS.join('|')}]`);
      expect(launch).toContain(backend);
    }
  });
});

describe('usage errors: exit 2, one line on stderr naming the fix', () => {
  const cases: [string[], string][] = [
    [['frobnicate'], 'unknown command "frobnicate"; see claude-bottle --help'],
    [['lunch', 'x.yaml'], 'unknown command "lunch" (did you mean launch?); see claude-bottle --help'],
    [['help', 'lunch'], 'unknown command "lunch" (did you mean launch?); see claude-bottle --help'],
    [['launch', 'x.yaml', '--bakend', 'fake'], 'launch: unknown option --bakend (did you mean --backend?); see claude-bottle launch --help'],
    [['launch', 'x.yaml', '--bogus'], 'launch: unknown option --bogus; see claude-bottle launch --help'],
    [['launch', 'x.yaml', '--backend', 'qemu'], `--backend must be one of ${BACKENDS.join(', ')}; got "qemu"`],
    [['launch'], 'launch needs <agent-file>; see claude-bottle launch --help'],
    [['launch', 'a.yaml', 'b.yaml'], 'launch: unexpected argument "b.yaml"'],
    [['launch', 'x.yaml', '--name'], "launch: option '--name <name>' argument missing; see claude-bottle launch --help"],
    [['exec', 'foo', 'ls'], 'exec: unexpected argument "ls" (put the command after --)'],
    [['exec', 'foo', 'ls', '-la'], 'exec: unknown option -la (put the command after --); see claude-bottle exec --help'],
    [['exec', 'foo'], 'exec needs a command after --: claude-bottle exec <bottle> -- <argv…>'],
    [['exec', 'foo', '--'], 'exec needs a command: claude-bottle exec <bottle> -- <argv…>'],
    [['exec'], 'exec needs <bottle>; see claude-bottle exec --help'],
    [['exec', 'foo', '--env', '1BAD', '--', 'true'], '--env: invalid variable name "1BAD"'],
    [['claude', 'foo', 'extra'], 'claude: unexpected argument "extra" (put the command after --)'],
    [['ls', '--force'], 'ls does not take --force (image build does)'],
    [['ls', '--orphans'], 'ls does not take --orphans (prune does)'],
    [['ls', '--', 'x'], 'ls takes no arguments after --'],
    [['--orphans', 'prune'], 'options go after the command: claude-bottle prune --orphans'],
    [['rm', 'b', '--env', 'X'], 'rm does not take --env (claude, exec do)'],
    [['rm'], 'rm needs <bottle>; see claude-bottle rm --help'],
    [['image'], 'image needs an action: build or status; see claude-bottle image --help'],
    [['image', 'frobnicate'], 'image needs an action: build or status (got "frobnicate")'],
    [['image', 'biuld'], 'image needs an action: build or status (got "biuld") (did you mean build?)'],
    [['image', 'status', '--force'], 'image status does not take --force (image build does)'],
    [['doctor', '--jsno'], 'doctor: unknown option --jsno (did you mean --json?); see claude-bottle doctor --help'],
  ];
  for (const [argv, message] of cases) {
    it(argv.join(' ') || '(nothing)', async () => {
      expect(await cli(...argv)).toEqual({ exitCode: 2, stdout: '', stderr: `claude-bottle: ${message}\n` });
    });
  }

  it('with --json the error is also on stdout, in the usual shape', async () => {
    const r = await cli('exec', 'foo', 'ls', '--json');
    expect(r.exitCode).toBe(2);
    expect(JSON.parse(r.stdout)).toEqual({ error: { name: 'UsageError', message: 'exec: unexpected argument "ls" (put the command after --)' }, exitCode: 2 });
  });
});
