// The CLI in process, on the embedded fake: each call is a fresh main() over the same state dir,
// as separate invocations would be (integration/cli runs the real bin as processes).
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPersistentFakeSmolvm } from '../../fakes/index.ts';
import { SmolvmEngine } from '../engines/smolvm/engine.ts';
import { captureStream, isolatedCliEnv, runCli } from './capture.ts';

const EXAMPLE = fileURLToPath(new URL('../../examples/reviewer/agent.yaml', import.meta.url));

let work: string;
let env: Record<string, string>;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'claude-bottle-cli-'));
  env = isolatedCliEnv(work);
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const cli = (args: string[], extraEnv: Record<string, string> = {}) => runCli(args, { ...env, ...extraEnv });

/** The fake's machines, as `fakes/bin/smolvm` would see them: the state dir the CLI's fake uses. */
async function withFakeState<T>(use: (fake: Awaited<ReturnType<typeof openPersistentFakeSmolvm>>['fake']) => Promise<T>): Promise<T> {
  const persistent = await openPersistentFakeSmolvm(join(env.CLAUDE_BOTTLE_STATE_DIR!, 'fake-smolvm'));
  try {
    return await use(persistent.fake);
  } finally {
    await persistent.close();
  }
}

describe('claude-bottle CLI on the fake', () => {
  let name = '';
  let planFile = '';

  it('launch --json reports the bottle, its backend, the prompt path and the skills dir', async () => {
    const r = await cli(['launch', EXAMPLE, '--backend', 'fake', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(out).toMatchObject({
      backend: 'fake',
      agent: 'reviewer',
      promptPath: '/root/.claude-bottle-prompt.txt',
      skillsDir: '/root/.claude/skills',
      skills: ['code-review', 'changelog'],
    });
    name = String(out.name);
    expect(name).toMatch(/^reviewer-[0-9a-f]{8}$/);
    planFile = join(env.CLAUDE_BOTTLE_STATE_DIR!, 'bottles', name, 'plan.json');
    expect((await stat(planFile)).mode & 0o777).toBe(0o600);
    // The record and the dirs holding records and run files are the user's alone.
    const state = env.CLAUDE_BOTTLE_STATE_DIR!;
    expect((await stat(join(state, 'bottles', `${name}.json`))).mode & 0o777).toBe(0o600);
    for (const dir of ['bottles', join('bottles', name)]) expect((await stat(join(state, dir))).mode & 0o777, dir).toBe(0o700);
  });

  it('ls finds it; exec passes output and exit codes through', async () => {
    const ls = JSON.parse((await cli(['ls', '--json'])).stdout) as { name: string; state: string; backend: string }[];
    expect(ls).toContainEqual(expect.objectContaining({ name, state: 'running', backend: 'fake' }));
    const cat = await cli(['exec', name, '--', 'cat', '/root/.claude/skills/changelog/SKILL.md']);
    expect(cat.exitCode).toBe(0);
    expect(cat.stdout).toContain('name: changelog');
    const fail = await cli(['exec', name, '--', 'sh', '-c', 'echo to-out; echo to-err >&2; exit 42']);
    expect(fail).toEqual({ exitCode: 42, stdout: 'to-out\n', stderr: 'to-err\n' });
    const json = await cli(['exec', name, '--json', '--', 'sh', '-c', 'echo hi; exit 3']);
    expect(json.exitCode).toBe(3);
    expect(JSON.parse(json.stdout)).toEqual({ exitCode: 3, stdout: 'hi\n', stderr: '' });
  });

  it('claude runs the prompt flag and passes --env values outside argv', async () => {
    const r = await cli(['claude', name, '--env', 'FROM_HOST', '--env', 'INLINE=v', '--', '-p', 'hello'], { FROM_HOST: 'sk-never-in-argv' });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('appended');
    expect(r.stdout).toContain('code-review:');
    expect(r.stdout).toContain('args: ["-p","hello"]');
    const state = await readFile(join(env.CLAUDE_BOTTLE_STATE_DIR!, 'fake-smolvm', 'state.json'), 'utf8');
    expect(state).not.toContain('sk-never-in-argv');
    // A variable named but not set is a bad command line, found before the bottle is touched.
    const unset = await cli(['claude', name, '--env', 'NOT_SET_ANYWHERE']);
    expect(unset.exitCode).toBe(2);
    expect(unset.stderr).toBe('claude-bottle: --env NOT_SET_ANYWHERE: NOT_SET_ANYWHERE is not set in this environment\n');
  });

  it('rm removes it; a second rm and an exec say there is no such bottle', async () => {
    expect((await cli(['rm', name])).exitCode).toBe(0);
    await expect(stat(planFile), 'the plan (env values) goes with the bottle').rejects.toThrow();
    const again = await cli(['rm', name]);
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toContain(`no bottle named "${name}"`);
    const exec = await cli(['exec', name, '--', 'true']);
    expect(exec.exitCode).toBe(125);
    expect(JSON.parse((await cli(['ls', '--json'])).stdout)).toEqual([]);
  });

  it('auto falls back to the fake with a one-line notice', async () => {
    const r = await cli(['launch', EXAMPLE]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/backend auto: smolvm not installed, no Docker engine answers, no podman runs; using the in-memory fake/);
    expect(r.stdout).toContain('prompt  /root/.claude-bottle-prompt.txt');
  });

  it('exit codes: bad agent file 3 (nothing created, JSON error on stdout), exec failure 125', async () => {
    const bad = join(work, 'bad.yaml');
    await writeFile(bad, 'name: Bad_Name\nskills: [../etc]\n');
    const r = await cli(['launch', bad, '--backend', 'fake']);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/name/);
    expect(r.stderr).toMatch(/skills\[0\]/);
    await expect(stat(join(env.CLAUDE_BOTTLE_STATE_DIR!, 'agents', 'Bad_Name'))).rejects.toThrow();
    const json = await cli(['launch', bad, '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ exitCode: 3, error: { name: 'ConfigError' } });
    expect((await cli(['exec', 'no-such-bottle', '--', 'true'])).exitCode).toBe(125);
  });

  it('bad names exit 3 and write nothing: a name the engine holds, a golden too long to name its forks', async () => {
    const file = join(work, 'named.yaml');
    await writeFile(file, 'name: named-agent\nprompt: hi\nimage: alpine\n');
    await withFakeState(async (fake) => expect((await fake.run(['smolvm', 'machine', 'create', '--name', 'held-by-other'])).exitCode).toBe(0));
    const taken = await cli(['launch', file, '--backend', 'fake', '--name', 'held-by-other']);
    expect(taken.exitCode, taken.stderr).toBe(3);
    expect(taken.stderr).toContain('a machine named "held-by-other" already exists and is not a bottle');
    await expect(stat(join(env.CLAUDE_BOTTLE_STATE_DIR!, 'agents', 'named-agent'))).rejects.toThrow();
    await expect(stat(join(env.CLAUDE_BOTTLE_STATE_DIR!, 'bottles', 'held-by-other.json'))).rejects.toThrow();
    // One rule on every backend: a one-character name is no docker container name, so none here either.
    for (const bad of ['A', 'a.b']) {
      const refusedName = await cli(['launch', file, '--backend', 'fake', '--name', bad]);
      expect(refusedName.exitCode, refusedName.stderr).toBe(3);
      expect(refusedName.stderr).toContain('--name');
    }
    await expect(stat(join(env.CLAUDE_BOTTLE_STATE_DIR!, 'agents', 'named-agent'))).rejects.toThrow();

    const long = 'g'.repeat(62);
    const refused = await cli(['launch', file, '--backend', 'fake', '--name', long, '--forks', '2']);
    expect(refused.exitCode, refused.stderr).toBe(3);
    expect(refused.stderr).toContain('--forks:');
    await expect(stat(join(env.CLAUDE_BOTTLE_STATE_DIR!, 'agents', 'named-agent'))).rejects.toThrow();
    const launched = await cli(['launch', file, '--backend', 'fake', '--name', long]);
    expect(launched.exitCode, launched.stderr).toBe(0);
    const fork = await cli(['fork', long, '-n', '1']);
    expect(fork.exitCode, fork.stderr).toBe(3);
    expect(fork.stderr).toContain('forks:');
    await expect(stat(join(env.CLAUDE_BOTTLE_STATE_DIR!, 'bottles', `${long}-f1.json`))).rejects.toThrow();
    expect((await cli(['rm', long])).exitCode).toBe(0);
    await withFakeState(async (fake) => expect((await fake.run(['smolvm', 'machine', 'delete', '--name', 'held-by-other', '-f'])).exitCode).toBe(0));
  });

  it('an agent with host daemons keeps launch in the foreground; other invocations use the bottle; rm asks it to take it all down', async () => {
    const file = join(work, 'supervised.yaml');
    await writeFile(file, 'name: supervised\nprompt: Report progress.\nsupervise: { name: boss }\n');
    const streams = { stdout: captureStream(), stderr: captureStream() };
    const launching = runCli(['launch', file, '--backend', 'fake', '--json'], env, streams);
    for (let i = 0; i < 400 && !streams.stderr.text().includes('serving supervise'); i++) await new Promise((r) => setTimeout(r, 25));
    expect(streams.stderr.text()).toMatch(/serving supervise for supervised-[0-9a-f]{8}; keep this running/);
    const bottle = /for (supervised-[0-9a-f]{8})/.exec(streams.stderr.text())![1]!;

    const claude = await cli(['claude', bottle, '--', '-p', 'hi']);
    expect(claude.exitCode, claude.stderr).toBe(0);
    expect(claude.stdout).toContain('args: ["--mcp-config","/root/.claude-bottle-mcp.json","--strict-mcp-config","-p","hi"]');
    // The guest reaches the supervise server through smolvm's host alias while launch runs.
    const mcp = await cli(['exec', bottle, '--', 'cat', '/root/.claude-bottle-mcp.json']);
    const port = /host\.smolvm\.internal:(\d+)\/mcp/.exec(mcp.stdout)?.[1];
    expect(port, mcp.stdout).toBeDefined();
    expect((await cli(['exec', bottle, '--', 'nc', '-z', 'host.smolvm.internal', port!])).exitCode).toBe(0);
    expect(JSON.parse((await cli(['ls', '--json'])).stdout)).toContainEqual(expect.objectContaining({ name: bottle, state: 'running' }));

    const removed = await cli(['rm', bottle]);
    expect(removed.exitCode, removed.stderr).toBe(0);
    const done = await launching;
    expect(done.exitCode).toBe(0);
    expect(JSON.parse(done.stdout)).toMatchObject({ name: bottle, daemons: 'supervise' });
    expect(done.stderr).toContain(`stopped supervise and removed ${bottle}`);
    expect(JSON.parse((await cli(['ls', '--json'])).stdout)).not.toContainEqual(expect.objectContaining({ name: bottle }));
  });

  it('prune drops records of vanished bottles, and with --orphans removes labelled machines no record knows', async () => {
    const launched = JSON.parse((await cli(['launch', EXAMPLE, '--backend', 'fake', '--json'])).stdout) as { name: string };
    await withFakeState(async (fake) => {
      for (const argv of [
        ['machine', 'delete', '--name', launched.name, '-f'],
        ['machine', 'create', '--name', 'orphan-1', '--label', 'claude-bottle=1'],
        ['machine', 'create', '--name', 'unlabelled'],
      ]) {
        expect((await fake.run(['smolvm', ...argv])).exitCode).toBe(0);
      }
    });

    const first = await cli(['prune', '--backend', 'fake', '--json']);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toEqual({
      droppedRecords: [launched.name],
      removedMachines: [],
      removedNetworks: [],
      removedRouteLeftovers: [],
      removedForkBases: [],
      removedFiles: [],
    });
    await expect(stat(join(env.CLAUDE_BOTTLE_STATE_DIR!, 'bottles', launched.name))).rejects.toThrow();
    const second = await cli(['prune', '--backend', 'fake', '--orphans', '--json']);
    expect(JSON.parse(second.stdout)).toEqual({
      droppedRecords: [],
      removedMachines: ['orphan-1 (fake)'],
      removedNetworks: [],
      removedRouteLeftovers: [],
      removedForkBases: [],
      removedFiles: [],
    });
    const left = await withFakeState(async (fake) => JSON.parse((await fake.run(['smolvm', 'machine', 'ls', '--json'])).stdout) as { name: string }[]);
    expect(left.map((m) => m.name)).toContain('unlabelled');
    expect(left.map((m) => m.name)).not.toContain('orphan-1');
  });

  it('rm of a bottle whose machine was replaced by a namesake leaves the namesake and says so', async () => {
    const { name } = JSON.parse((await cli(['launch', EXAMPLE, '--backend', 'fake', '--json'])).stdout) as { name: string };
    await withFakeState(async (fake) => {
      for (const argv of [
        ['machine', 'delete', '--name', name, '-f'],
        ['machine', 'create', '--name', name, '--label', 'claude-bottle=1', '--label', 'claude-bottle.launch=0000000000000000'],
      ]) {
        expect((await fake.run(['smolvm', ...argv])).exitCode).toBe(0);
      }
    });
    const r = await cli(['rm', name]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain(`dropped ${name}'s record; the machine of that name is not it (left untouched)`);
    expect(r.stderr).toContain('left untouched');
    await withFakeState(async (fake) => {
      const info = JSON.parse((await fake.run(['smolvm', 'machine', 'status', '--name', name, '--json'])).stdout) as { labels?: Record<string, string> };
      expect(info.labels?.['claude-bottle.launch']).toBe('0000000000000000');
      expect((await fake.run(['smolvm', 'machine', 'delete', '--name', name, '-f'])).exitCode).toBe(0);
    });
  });

  it("prune --orphans --agent touches only that agent's machines", async () => {
    await withFakeState(async (fake) => {
      for (const [name, agent] of [
        ['mine-1', 'mine'],
        ['theirs-1', 'theirs'],
      ] as const) {
        const argv = ['machine', 'create', '--name', name, '--label', 'claude-bottle=1', '--label', `claude-bottle.agent=${agent}`];
        expect((await fake.run(['smolvm', ...argv])).exitCode).toBe(0);
      }
    });
    const pruned = await cli(['prune', '--backend', 'fake', '--orphans', '--agent', 'mine', '--json']);
    expect(pruned.exitCode, pruned.stderr).toBe(0);
    expect(JSON.parse(pruned.stdout)).toMatchObject({ removedMachines: ['mine-1 (fake)'] });
    const left = await withFakeState(async (fake) => JSON.parse((await fake.run(['smolvm', 'machine', 'ls', '--json'])).stdout) as { name: string }[]);
    expect(left.map((m) => m.name)).toEqual(expect.arrayContaining(['theirs-1']));
    expect(left.map((m) => m.name)).not.toContain('mine-1');
    expect((await cli(['prune', '--agent', 'Not An Agent'])).exitCode).toBe(2);
  });

  it('doctor reports platform, smolvm, docker and the state dir', async () => {
    const r = await cli(['doctor', '--json']);
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      platform: `${process.platform}/${process.arch}`,
      smolvm: { installed: false, minimum: '1.9.0' },
      docker: { answers: false },
      stateDir: env.CLAUDE_BOTTLE_STATE_DIR,
    });
  });
});

describe('forks through the CLI, on the fake', () => {
  it('launch --forks, fork -n, the frozen golden, rm refused then --cascade', async () => {
    const launched = await cli(['launch', EXAMPLE, '--backend', 'fake', '--forks', '2', '--json']);
    expect(launched.exitCode, launched.stderr).toBe(0);
    const out = JSON.parse(launched.stdout) as { name: string; forks: { name: string; forkOf: string }[] };
    const golden = out.name;
    expect(out.forks.map((f) => [f.name, f.forkOf])).toEqual([
      [`${golden}-f1`, golden],
      [`${golden}-f2`, golden],
    ]);
    const rows = JSON.parse((await cli(['ls', '--json'])).stdout) as { name: string; state: string; forkOf: string | null }[];
    const mine = rows.filter((r) => r.name.startsWith(golden));
    expect(mine.map((r) => [r.name, r.state, r.forkOf])).toEqual([
      [golden, 'frozen', null],
      [`${golden}-f1`, 'running', golden],
      [`${golden}-f2`, 'running', golden],
    ]);
    // Each fork has the golden's prompt, nothing uploaded again.
    const prompt = await cli(['exec', `${golden}-f2`, '--', 'cat', '/root/.claude-bottle-prompt.txt']);
    expect(prompt).toMatchObject({ exitCode: 0, stdout: expect.stringContaining('careful code reviewer') });
    // The golden is a frozen fork base while its forks live: no command, no rm without --cascade.
    const frozen = await cli(['exec', golden, '--', 'true']);
    expect(frozen.exitCode).toBe(125);
    expect(frozen.stderr).toContain('frozen fork base');
    const refused = await cli(['rm', golden]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain(`rm --cascade ${golden}`);

    const more = await cli(['fork', golden, '-n', '1', '--json']);
    expect(more.exitCode, more.stderr).toBe(0);
    expect((JSON.parse(more.stdout) as { forks: { name: string }[] }).forks.map((f) => f.name)).toEqual([`${golden}-f3`]);
    expect((await cli(['fork', golden, '-n', '0'])).exitCode).toBe(2);

    // With its forks gone, the golden thaws on the next command.
    for (const k of [1, 2, 3]) expect((await cli(['rm', `${golden}-f${k}`])).exitCode).toBe(0);
    expect(await cli(['exec', golden, '--', 'cat', '/root/.claude-bottle-prompt.txt'])).toMatchObject({ exitCode: 0 });
    const after = JSON.parse((await cli(['ls', '--json'])).stdout) as { name: string; state: string }[];
    expect(after.filter((r) => r.name.startsWith(golden)).map((r) => [r.name, r.state])).toEqual([[golden, 'running']]);

    // rm --cascade takes forks and golden.
    expect((await cli(['fork', golden, '-n', '2'])).exitCode).toBe(0);
    const cascade = await cli(['rm', '--cascade', golden, '--json']);
    expect(cascade.exitCode, cascade.stderr).toBe(0);
    expect((JSON.parse(cascade.stdout) as { forks: { name: string }[] }).forks.map((f) => f.name)).toEqual([`${golden}-f1`, `${golden}-f2`]);
    expect((JSON.parse((await cli(['ls', '--json'])).stdout) as { name: string }[]).filter((r) => r.name.startsWith(golden))).toEqual([]);
  });

  it("a fork killed between the engine fork and its record: prune removes the clone (it carries the golden's labels) and the golden thaws", async () => {
    const launched = await cli(['launch', EXAMPLE, '--backend', 'fake', '--json']);
    expect(launched.exitCode, launched.stderr).toBe(0);
    const golden = (JSON.parse(launched.stdout) as { name: string }).name;
    const bottles = join(env.CLAUDE_BOTTLE_STATE_DIR!, 'bottles');
    const goldenRecord = JSON.parse(await readFile(join(bottles, `${golden}.json`), 'utf8')) as { launchId: string; agent: string };
    // What `fork` leaves when killed there: its intent (a launcher that is gone) and the engine's clone.
    const fork = `${golden}-f1`;
    await writeFile(
      join(bottles, `${fork}.json`),
      JSON.stringify({
        name: fork,
        backend: 'fake',
        agent: goldenRecord.agent,
        launchId: 'ffffffff00000001',
        status: 'launching',
        launcher: { pid: 2 ** 22 + 1, socket: join(env.CLAUDE_BOTTLE_STATE_DIR!, 'run', 'ffffffff00000001.sock') },
        runDir: join(bottles, fork),
        envKeys: [],
        createdAt: new Date().toISOString(),
        forkOf: { name: golden, launchId: goldenRecord.launchId },
      }),
      { mode: 0o600 },
    );
    await withFakeState(async (fake) => {
      const engine = new SmolvmEngine({ transport: fake });
      await engine.fork(golden, [{ name: fork, labels: {}, network: { enabled: false, allowHosts: [], allowCidrs: [] } }]);
      expect((await engine.status(fork))?.labels['claude-bottle.launch']).toBe(goldenRecord.launchId);
    });
    expect((JSON.parse((await cli(['ls', '--json'])).stdout) as { name: string; state: string }[]).find((r) => r.name === fork)?.state).toBe('crashed');

    const pruned = await cli(['prune', '--backend', 'fake', '--json']);
    expect(pruned.exitCode, pruned.stderr).toBe(0);
    expect((JSON.parse(pruned.stdout) as { droppedRecords: string[] }).droppedRecords).toContain(fork);
    await withFakeState(async (fake) => expect(await new SmolvmEngine({ transport: fake }).status(fork)).toBeUndefined());
    expect(await cli(['exec', golden, '--', 'cat', '/root/.claude-bottle-prompt.txt'])).toMatchObject({ exitCode: 0 });
    expect((await cli(['rm', golden])).exitCode).toBe(0);
  });
});
