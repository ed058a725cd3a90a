import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFakeSmolvm, type FakeSmolvm } from '../../fakes/index.ts';
import { loadAgentFile, parseAgentSpec } from '../agent/spec.ts';
import { launch, LaunchError, type LaunchStep } from '../bottle/launch.ts';
import { SmolvmEngine } from '../engines/smolvm/engine.ts';
import { ConfigError } from '../errors.ts';
import { hostGitEnv } from '../daemons/gitgate/repo.ts';
import { AGENT_IMAGE } from '../image/recipe.ts';
import { prepare } from '../plan/prepare.ts';
import { GIT_PROVISION_SCRIPT, gitProvisionArgv, provisionGit } from './git.ts';
import { ProvisionError } from './error.ts';

const run = promisify(execFile);
const GATE_URL = 'http://10.0.0.1:4567/repo.git';

let work: string;
let repo: string;
let env: Record<string, string>;
let fake: FakeSmolvm;
let engine: SmolvmEngine;
/** Every `git` the guest ran: argv and working directory. */
let gitCalls: { argv: readonly string[]; cwd: string }[];

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'claude-bottle-git-'));
  repo = join(work, 'project');
  await mkdir(repo);
  await run('git', ['init', '-q', repo], { env: { ...hostGitEnv(), GIT_CONFIG_NOSYSTEM: '1' } });
  env = { HOME: join(work, 'home'), CLAUDE_BOTTLE_STATE_DIR: join(work, 'state'), CLAUDE_BOTTLE_SKILLS_DIR: join(work, 'skills') };
  fake = createFakeSmolvm();
  engine = new SmolvmEngine({ transport: fake });
  gitCalls = [];
  // The fake guest has no git: this one records its calls, and `clone` makes the workspace.
  fake.registerCommand('git', ({ argv, cwd, fs }) => {
    gitCalls.push({ argv, cwd });
    if (argv[1] === 'clone') {
      if (argv.includes('http://unreachable/repo.git'))
        return { exitCode: 128, stderr: "fatal: unable to access 'http://unreachable/repo.git/': Could not resolve host\n" };
      fs.mkdirSync(argv.at(-1) ?? '/nowhere', { recursive: true });
    }
    return { exitCode: 0 };
  });
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

const planWithGit = (git: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) =>
  prepare(parseAgentSpec({ name: 'coder', git: { repo, ...git }, ...extra }), { env });

describe('agent spec and prepare: git', () => {
  it('defaults: prefix bottle/<name>/, branch <prefix>work, identity from the name, workspace under home', async () => {
    const plan = await planWithGit();
    const { stdout } = await run('git', ['-C', repo, 'rev-parse', '--path-format=absolute', '--git-common-dir']);
    expect(plan.git).toEqual({
      repo,
      gitDir: stdout.trim(),
      prefix: 'bottle/coder/',
      branch: 'bottle/coder/work',
      name: 'coder',
      email: 'coder@claude-bottle.invalid',
      workspace: '/root/workspace',
    });
    expect((await planWithGit({}, { image: AGENT_IMAGE })).git?.workspace).toBe('/home/node/workspace');
    expect((await prepare(parseAgentSpec({ name: 'coder' }), { env })).git).toBeUndefined();
  });

  it('takes a prefix, an identity and a workspace', async () => {
    const plan = await planWithGit({ branchPrefix: 'agents/x-', name: 'Coder Bot', email: 'bot@example.com', workspace: '/src/app' });
    expect(plan.git).toMatchObject({ prefix: 'agents/x-', branch: 'agents/x-work', name: 'Coder Bot', email: 'bot@example.com', workspace: '/src/app' });
  });

  it('a repo that is not a git repository, or does not exist, fails in prepare with a ConfigError naming git.repo; nothing is written', async () => {
    const plain = join(work, 'plain');
    await mkdir(plain);
    for (const bad of [plain, join(work, 'missing')]) {
      const error = await planWithGit({ repo: bad }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).message).toMatch(new RegExp(`^git\\.repo: "${bad}" is not a git repository \\(`));
      expect((error as ConfigError).issues).toEqual([{ path: 'git.repo', message: expect.stringContaining('is not a git repository') }]);
    }
    await expect(run('ls', [join(work, 'state')])).rejects.toThrow();
  });

  it('the spec names bad fields: empty or ~ repo, bad prefix, identity with <>, relative workspace, unknown keys', () => {
    expect(() => parseAgentSpec({ name: 'a', git: { repo: '' } })).toThrow(/git\.repo: .*is empty/);
    expect(() => parseAgentSpec({ name: 'a', git: { repo: '~/src' } })).toThrow(/git\.repo: .*'~'/);
    expect(() => parseAgentSpec({ name: 'a', git: {} })).toThrow(/git\.repo/);
    for (const prefix of ['', '../x/', '/abs/', 'a b/', 'a//b/', '.hidden/', 'x.lock/y/', '-x/']) {
      expect(() => parseAgentSpec({ name: 'a', git: { repo: '/r', branchPrefix: prefix } }), prefix).toThrow(/git\.branchPrefix: /);
    }
    expect(() => parseAgentSpec({ name: 'a', git: { repo: '/r', name: 'A <a>' } })).toThrow(/git\.name: /);
    expect(() => parseAgentSpec({ name: 'a', git: { repo: '/r', email: 'a b@c' } })).toThrow(/git\.email: .*whitespace/);
    expect(() => parseAgentSpec({ name: 'a', git: { repo: '/r', workspace: 'ws' } })).toThrow(/git\.workspace: /);
    expect(() => parseAgentSpec({ name: 'a', git: { repo: '/r', branch: 'x' } })).toThrow(/git/);
  });

  it('loadAgentFile resolves git.repo against the agent file', async () => {
    await mkdir(join(work, 'agents'));
    await writeFile(join(work, 'agents', 'a.yaml'), 'name: a\ngit: { repo: ../project }\n');
    expect((await loadAgentFile(join(work, 'agents', 'a.yaml'))).git).toEqual({ repo });
  });
});

describe('provisionGit on the fake smolvm', () => {
  it('is one exec as the guest user: clone through the gate, identity, the work branch; positional args only', async () => {
    const plan = await planWithGit({ name: "O'Brien; rm -rf /", email: 'ob@example.com' });
    // Launched without its daemons, so only the direct call below touches git.
    await using bottle = await launch({ ...plan, daemons: [] }, { engine, name: 'coder-0001' });
    const before = fake.calls.length;
    expect(await provisionGit(engine, bottle.name, plan, GATE_URL)).toBe('/root/workspace');
    const calls = fake.calls.slice(before).map((c) => c.argv);
    expect(calls).toEqual([
      [
        'smolvm',
        'machine',
        'exec',
        '--name',
        'coder-0001',
        '--env',
        'GIT_TERMINAL_PROMPT',
        '--',
        'sh',
        '-c',
        GIT_PROVISION_SCRIPT,
        'sh',
        GATE_URL,
        '/root/workspace',
        "O'Brien; rm -rf /",
        'ob@example.com',
        'bottle/coder/work',
        '',
      ],
    ]);
    expect(gitCalls).toEqual([
      { argv: ['git', 'clone', '-q', '--', GATE_URL, '/root/workspace'], cwd: expect.any(String) },
      { argv: ['git', 'config', 'user.name', "O'Brien; rm -rf /"], cwd: '/root/workspace' },
      { argv: ['git', 'config', 'user.email', 'ob@example.com'], cwd: '/root/workspace' },
      { argv: ['git', 'config', 'push.autoSetupRemote', 'true'], cwd: '/root/workspace' },
      { argv: ['git', 'checkout', '-q', '-b', 'bottle/coder/work'], cwd: '/root/workspace' },
    ]);
  });

  it("with the gate's credential: a 0600 include file uploaded, read through GIT_CONFIG_* env, included by the clone; never in argv", async () => {
    const plan = await planWithGit();
    await using bottle = await launch({ ...plan, daemons: [] }, { engine, name: 'coder-0003' });
    const token = 'tok-0123456789abcdefABCDEF_-';
    const before = fake.calls.length;
    await provisionGit(engine, bottle.name, plan, GATE_URL, token);
    const calls = fake.calls.slice(before);
    expect(calls.map((c) => c.argv.join(' ')).filter((a) => a.includes(token))).toEqual([]);
    expect(calls.map((c) => c.argv.slice(0, 3).join(' '))).toEqual(['smolvm machine cp', 'smolvm machine exec']);
    expect(calls[1]?.argv).toEqual(expect.arrayContaining(['--env', 'GIT_CONFIG_COUNT', '--env', 'GIT_CONFIG_KEY_0', '--env', 'GIT_CONFIG_VALUE_0']));
    const file = '/root/.claude-bottle-git.conf';
    expect((await bottle.exec(['stat', '-c', '%a %u %g', file])).stdout).toBe('600 0 0\n');
    expect((await bottle.exec(['cat', file])).stdout).toBe(`[http "http://10.0.0.1:4567/"]\n\textraHeader = Authorization: Bearer ${token}\n`);
    expect(gitCalls.map((c) => c.argv.join(' '))).toContain(`git config include.path ${file}`);
  });

  it('a failed clone throws a ProvisionError with git stderr, and stops there', async () => {
    const plan = await planWithGit();
    await using bottle = await launch({ ...plan, daemons: [] }, { engine });
    const error = await provisionGit(engine, bottle.name, plan, 'http://unreachable/repo.git').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProvisionError);
    expect((error as Error).message).toMatch(
      /^git: cloning http:\/\/unreachable\/repo\.git into \/root\/workspace failed \(exit 128\)\nfatal: unable to access/,
    );
    expect(gitCalls).toHaveLength(1);
  });

  it('a plan without git is a no-op; the argv needs one', async () => {
    const plan = await prepare(parseAgentSpec({ name: 'coder' }), { env });
    expect(await provisionGit(engine, 'any', plan, GATE_URL)).toBeUndefined();
    expect(() => gitProvisionArgv(plan, GATE_URL)).toThrow(ProvisionError);
    expect(fake.calls).toEqual([]);
  });

  it('provisionGit clones into a bottle launched without the gate', async () => {
    const plan = await planWithGit();
    await using bottle = await launch({ ...plan, daemons: [] }, { engine });
    await provisionGit(engine, bottle.name, plan, GATE_URL);
    expect(gitCalls.map((c) => c.argv[1])).toEqual(['clone', 'config', 'config', 'config', 'checkout']);
  });
});

describe('launch with a git gate', () => {
  it("runs provision-git last, with a started gate, a factory, or the bundle's own gate", async () => {
    const plan = await planWithGit();
    const steps: LaunchStep[] = [];
    await using first = await launch(plan, { engine, gitGate: { url: GATE_URL }, onStep: (s) => steps.push(s) });
    expect(steps).toEqual(['create', 'start', 'provision-files', 'provision-git']);
    expect(gitCalls[0]?.argv).toEqual(['git', 'clone', '-q', '--', GATE_URL, '/root/workspace']);

    const asked: string[] = [];
    await using second = await launch(plan, {
      engine,
      gitGate: async (p, machine) => {
        asked.push(`${p.git?.prefix} ${machine}`);
        return { url: 'http://10.0.0.2:1/repo.git' };
      },
    });
    expect(asked).toEqual([`bottle/coder/ ${second.name}`]);
    expect(gitCalls.filter((c) => c.argv[1] === 'clone').map((c) => c.argv[4])).toEqual([GATE_URL, 'http://10.0.0.2:1/repo.git']);

    gitCalls = [];
    const ownSteps: LaunchStep[] = [];
    await using third = await launch(plan, { engine, onStep: (s) => ownSteps.push(s) });
    expect(ownSteps).toEqual(['route', 'bundle', 'create', 'start', 'probe', 'provision-files', 'provision-git']);
    expect(third.daemons?.csv).toBe('git-gate');
    // The guest dials the gate through smolvm's host alias (virtio-net, loopback only).
    expect(gitCalls[0]?.argv).toEqual([
      'git',
      'clone',
      '-q',
      '--',
      expect.stringMatching(/^http:\/\/host\.smolvm\.internal:\d+\/repo\.git$/),
      '/root/workspace',
    ]);
    expect(first.name).not.toBe(third.name);
  });

  it('a failed clone fails the launch at provision-git and removes the machine', async () => {
    const plan = await planWithGit();
    const error = await launch(plan, { engine, name: 'coder-0002', gitGate: { url: 'http://unreachable/repo.git' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LaunchError);
    expect(error).toMatchObject({ step: 'provision-git', machine: 'coder-0002' });
    expect((error as LaunchError).cause).toBeInstanceOf(ProvisionError);
    expect(await engine.status('coder-0002')).toBeUndefined();
  });
});
