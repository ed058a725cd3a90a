import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFakeSmolvm, type FakeSmolvm } from '../../fakes/index.ts';
import { parseAgentSpec } from '../agent/spec.ts';
import type { Engine } from '../engine/types.ts';
import { SmolvmEngine } from '../engines/smolvm/engine.ts';
import { ConfigError } from '../errors.ts';
import { prepare } from '../plan/prepare.ts';
import { SmolvmError } from '../engines/smolvm/errors.ts';
import { BottleRemovedError } from './bottle.ts';
import { LaunchError, launch } from './launch.ts';

let work: string;
let env: Record<string, string>;
let fake: FakeSmolvm;
let engine: SmolvmEngine;

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'claude-bottle-launch-'));
  env = { HOME: join(work, 'home'), CLAUDE_BOTTLE_STATE_DIR: join(work, 'state'), CLAUDE_BOTTLE_SKILLS_DIR: join(work, 'skills') };
  await makeSkill('code-review', { 'SKILL.md': '---\nname: code-review\ndescription: r\n---\n', 'scripts/check.sh': '#!/bin/sh\necho ok\n' });
  await chmod(join(work, 'skills', 'code-review', 'scripts', 'check.sh'), 0o755);
  await makeSkill('changelog', { 'SKILL.md': '---\nname: changelog\ndescription: c\n---\n' });
  fake = createFakeSmolvm();
  engine = new SmolvmEngine({ transport: fake });
});

afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

async function makeSkill(name: string, files: Record<string, string>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    const path = join(work, 'skills', name, rel);
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, content);
  }
}

async function planFor(spec: Record<string, unknown>, extraEnv: Record<string, string> = {}) {
  return prepare(parseAgentSpec({ name: 'reviewer', ...spec }), { env: { ...env, ...extraEnv } });
}

type GuestFs = NonNullable<ReturnType<FakeSmolvm['guestFs']>>;

/** Every entry under root: relative path, type, mode, owner and size. */
function walk(fs: GuestFs, root: string, rel = ''): string[] {
  const out: string[] = [];
  for (const entry of (fs.readdirSync(rel ? `${root}/${rel}` : root) as string[]).sort()) {
    const path = rel ? `${rel}/${entry}` : entry;
    const st = fs.lstatSync(`${root}/${path}`);
    const isDir = st.isDirectory();
    out.push(`${path} ${isDir ? 'dir' : 'file'} ${(Number(st.mode) & 0o7777).toString(8)} ${st.uid} ${st.gid}${isDir ? '' : ` ${st.size}`}`);
    if (isDir) out.push(...walk(fs, root, path));
  }
  return out;
}

const verbs = () => fake.calls.map((c) => c.argv.slice(1, 3).join(' '));

describe('launch on the fake smolvm', () => {
  it('runs status (the name is free), create, start, prompt upload, skills archive upload and one exec, in that argv shape', async () => {
    const plan = await planFor({ prompt: 'Be brief.', skills: ['code-review', 'changelog'] });
    const bottle = await launch(plan, { engine, name: 'reviewer-0001' });
    const all = fake.calls.map((c) => c.argv);
    expect(all[0]).toEqual(['smolvm', 'machine', 'status', '--name', 'reviewer-0001', '--json']);
    const argvs = all.slice(1);
    expect(argvs[0]).toEqual([
      'smolvm',
      'machine',
      'create',
      '--name',
      'reviewer-0001',
      '--label',
      'claude-bottle=1',
      '--label',
      `claude-bottle.launch=${bottle.launchId}`,
      '--label',
      'claude-bottle.agent=reviewer',
    ]);
    expect(bottle.launchId).toMatch(/^[0-9a-f]{16}$/);
    expect(argvs[1]).toEqual(['smolvm', 'machine', 'start', '--name', 'reviewer-0001']);
    expect(argvs[2]).toEqual([
      'smolvm',
      'machine',
      'cp',
      // The checked bytes, from a private copy: never the state-dir path, which could be swapped after the check.
      expect.stringMatching(/\/claude-bottle-upload-[^/]+\/prompt\.txt$/),
      'reviewer-0001:/root/.claude-bottle-prompt.txt',
      '--mode',
      '600',
      '--uid',
      '0',
      '--gid',
      '0',
    ]);
    expect(argvs[3]).toEqual([
      'smolvm',
      'machine',
      'cp',
      expect.stringMatching(/skills-[0-9a-f]+\.tar$/),
      expect.stringMatching(/^reviewer-0001:\/tmp\/claude-bottle-skills-[0-9a-f]+\.tar$/),
      '--mode',
      '600',
      '--uid',
      '0',
      '--gid',
      '0',
    ]);
    expect(argvs[4]?.slice(0, 8)).toEqual(['smolvm', 'machine', 'exec', '--name', 'reviewer-0001', '--', 'sh', '-c']);
    expect(argvs).toHaveLength(5);
    expect(bottle.promptPath).toBe('/root/.claude-bottle-prompt.txt');
    expect(bottle.skillsDir).toBe('/root/.claude/skills');
    expect(fake.machine('reviewer-0001')?.state).toBe('running');
  });

  it('always uploads the prompt, but returns its path only when the prompt is non-empty', async () => {
    const empty = await launch(await planFor({ prompt: '' }), { engine });
    expect(empty.promptPath).toBeUndefined();
    expect(empty.claudeArgv(['-p', 'hi'])).toEqual(['claude', '-p', 'hi']);
    const fs = fake.guestFs(empty.name)!;
    expect(fs.readFileSync('/root/.claude-bottle-prompt.txt', 'utf8')).toBe('');

    const full = await launch(await planFor({ prompt: 'Review carefully.\n' }), { engine });
    expect(full.promptPath).toBe('/root/.claude-bottle-prompt.txt');
    expect(full.claudeArgv(['-p', 'hi'])).toEqual(['claude', '--append-system-prompt-file', '/root/.claude-bottle-prompt.txt', '-p', 'hi']);
    expect(fake.guestFs(full.name)!.readFileSync('/root/.claude-bottle-prompt.txt', 'utf8')).toBe('Review carefully.\n');
  });

  it('keeps the prompt 0600 on the host and 0600, owned by the guest user, in the guest', async () => {
    const plan = await planFor({ prompt: 'secret-ish', user: { name: 'node', uid: 1000, gid: 1000, home: '/home/node' } });
    expect((await stat(plan.prompt.hostPath)).mode & 0o777).toBe(0o600);
    const bottle = await launch(plan, { engine });
    const guest = await bottle.exec(['stat', '-c', '%a %u %g', '/home/node/.claude-bottle-prompt.txt']);
    expect(guest).toMatchObject({ exitCode: 0, stdout: '600 1000 1000\n' });
  });

  it('does nothing for skills when there are none', async () => {
    const bottle = await launch(await planFor({ prompt: 'x' }), { engine });
    expect(bottle.skillsDir).toBeUndefined();
    expect(verbs()).toEqual(['machine create', 'machine start', 'machine cp']);
  });

  it('lays skills out under the guest skills dir with modes and owner', async () => {
    const plan = await planFor({ skills: ['code-review', 'changelog'], user: { name: 'node', uid: 1000, gid: 1000, home: '/home/node' } });
    const bottle = await launch(plan, { engine });
    const out = await bottle.exec([
      'stat',
      '-c',
      '%n %a %u %g',
      '/home/node/.claude',
      '/home/node/.claude/skills',
      '/home/node/.claude/skills/code-review/SKILL.md',
      '/home/node/.claude/skills/code-review/scripts/check.sh',
      '/home/node/.claude/skills/changelog/SKILL.md',
    ]);
    expect(out.stdout.trim().split('\n')).toEqual([
      '/home/node/.claude 755 1000 1000',
      '/home/node/.claude/skills 755 1000 1000',
      '/home/node/.claude/skills/code-review/SKILL.md 644 1000 1000',
      '/home/node/.claude/skills/code-review/scripts/check.sh 755 1000 1000',
      '/home/node/.claude/skills/changelog/SKILL.md 644 1000 1000',
    ]);
    // The archive is gone from the guest.
    expect((await bottle.exec(['sh', '-c', 'ls /tmp'])).stdout).not.toMatch(/claude-bottle-skills/);
  });

  it('honours CLAUDE_BOTTLE_GUEST_SKILLS_DIR', async () => {
    const plan = await planFor({ skills: ['changelog'] }, { CLAUDE_BOTTLE_GUEST_SKILLS_DIR: '/opt/agent-skills' });
    const bottle = await launch(plan, { engine });
    expect(bottle.skillsDir).toBe('/opt/agent-skills');
    expect((await bottle.exec(['cat', '/opt/agent-skills/changelog/SKILL.md'])).stdout).toContain('name: changelog');
  });

  it('fails on a missing skill before any machine exists', async () => {
    await expect(planFor({ skills: ['nope'] })).rejects.toThrow(ConfigError);
    await expect(planFor({ skills: ['nope'] })).rejects.toThrow(/nope/);
    expect(fake.calls).toHaveLength(0);
  });

  it('gives the same guest tree through the archive and per-file transfers', async () => {
    const plan = await planFor({ skills: ['code-review', 'changelog'], user: { name: 'node', uid: 1000, gid: 1000, home: '/home/node' } });
    const viaArchive = await launch(plan, { engine, fileTransfer: 'archive' });
    const perFile = await launch(plan, { engine, fileTransfer: 'per-file' });
    const listing = (name: string) => walk(fake.guestFs(name)!, '/home/node/.claude');
    const a = listing(viaArchive.name);
    expect(a).toContain('skills/code-review/scripts/check.sh file 755 1000 1000 18');
    expect(a).toContain('skills/code-review/scripts dir 755 1000 1000');
    expect(listing(perFile.name)).toEqual(a);
    const content = (name: string) => engine.exec(name, ['cat', '/home/node/.claude/skills/code-review/scripts/check.sh']);
    expect((await content(perFile.name)).stdout).toBe((await content(viaArchive.name)).stdout);
  });

  it('falls back to per-file when the guest has no tar', async () => {
    fake.registerCommand('tar', () => ({ exitCode: 127, stderr: 'sh: tar: not found\n' }));
    const bottle = await launch(await planFor({ skills: ['changelog'] }), { engine });
    expect((await bottle.exec(['cat', '/root/.claude/skills/changelog/SKILL.md'])).exitCode).toBe(0);
    expect((await bottle.exec(['sh', '-c', 'ls /tmp'])).stdout).not.toMatch(/claude-bottle-skills/);
  });

  it('a fault at each engine call of a launch leaves no machine and names the step', async () => {
    const plan = await planFor({ prompt: 'p', skills: ['code-review'] });
    await launch(plan, { engine: new SmolvmEngine({ transport: createFakeSmolvm() }) });
    const steps = 5;
    for (let n = 1; n <= steps; n++) {
      const probe = createFakeSmolvm();
      probe.injectFault(n, { exitCode: 1, stderr: 'Error: agent operation failed: injected fault\n' });
      const error = await launch(plan, { engine: new SmolvmEngine({ transport: probe }) }).catch((e: unknown) => e);
      expect(error, `fault at call ${n}`).toBeInstanceOf(LaunchError);
      const launchError = error as LaunchError;
      expect(launchError.step).toBe(['create', 'start', 'provision-files', 'provision-files', 'provision-files'][n - 1]);
      expect(launchError.message).toContain('injected fault');
      expect(launchError.cause).toBeInstanceOf(SmolvmError);
      const ls = await probe.run(['smolvm', 'machine', 'ls', '--json']);
      expect(JSON.parse(ls.stdout), `machines left after a fault at call ${n}`).toEqual([]);
    }
  });

  it('launches 20 bottles concurrently without collisions', async () => {
    const plan = await planFor({ prompt: 'p', skills: ['changelog'] });
    const bottles = await Promise.all(Array.from({ length: 20 }, () => launch(plan, { engine })));
    expect(new Set(bottles.map((b) => b.name)).size).toBe(20);
    const ls = JSON.parse((await fake.run(['smolvm', 'machine', 'ls', '--json'])).stdout) as { state: string }[];
    expect(ls.filter((m) => m.state === 'running')).toHaveLength(20);
  });

  it('execClaude runs claude with the prompt flag and the agent env, values never in argv', async () => {
    fake.registerCommand('claude', ({ argv, env: guestEnv }) => ({ exitCode: 0, stdout: `${JSON.stringify(argv)}|${guestEnv.API_TOKEN}` }));
    const plan = await planFor({ prompt: 'p', env: { API_TOKEN: 'sk-planted-secret-123' } });
    const bottle = await launch(plan, { engine });
    const out = await bottle.execClaude(['-p', 'hello']);
    expect(out.stdout).toBe(
      `${JSON.stringify(['claude', '--append-system-prompt-file', '/root/.claude-bottle-prompt.txt', '-p', 'hello'])}|sk-planted-secret-123`,
    );
    for (const call of fake.calls) expect(call.argv.join(' ')).not.toContain('sk-planted-secret-123');
  });

  it('exec returns guest exit codes and output; stop/remove are idempotent; exec after remove is refused', async () => {
    const bottle = await launch(await planFor({}), { engine });
    expect(await bottle.exec(['sh', '-c', 'echo out; echo err >&2; exit 3'])).toMatchObject({ exitCode: 3, stdout: 'out\n', stderr: 'err\n' });
    await bottle.stop();
    await bottle.stop();
    expect(fake.machine(bottle.name)?.state).toBe('stopped');
    await bottle.remove();
    await bottle.remove();
    expect(fake.machine(bottle.name)).toBeUndefined();
    await expect(bottle.exec(['true'])).rejects.toThrow(BottleRemovedError);
  });

  it('await using removes the bottle', async () => {
    let name = '';
    {
      await using bottle = await launch(await planFor({}), { engine });
      name = bottle.name;
      expect(fake.machine(name)?.state).toBe('running');
    }
    expect(fake.machine(name)).toBeUndefined();
  });

  it('reads back the prompt file it wrote on the host', async () => {
    const plan = await planFor({ prompt: 'host copy' });
    expect(await readFile(plan.prompt.hostPath, 'utf8')).toBe('host copy');
  });
});

describe('launch refusals', () => {
  it('an engine that cannot enforce an allow-list gets no egress without the proxy: refused before any engine call', async () => {
    const calls: string[] = [];
    const inner = new SmolvmEngine({ transport: fake });
    // What matters is the declared capability, not the engine's name.
    const engine: Engine = new Proxy(inner, {
      get(target, prop) {
        if (prop === 'capabilities') return { ...target.capabilities, egressAllowList: false };
        const value: unknown = Reflect.get(target, prop, target);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          // checkConfig is the engine's own check, in process: not a call to it.
          if (prop !== 'checkConfig') calls.push(String(prop));
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const plan = await prepare(parseAgentSpec({ name: 'netless', egress: { allowHosts: ['a.example'], proxy: false } }), { env });
    const steps: string[] = [];
    const error = await launch(plan, { engine, onStep: (step) => steps.push(step) }).catch((e: unknown) => e);
    // Refused before any step: the ConfigError itself, not a LaunchError naming a step that never ran.
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).not.toBeInstanceOf(LaunchError);
    expect(steps).toEqual([]);
    expect((error as Error).message).toMatch(/^egress\.proxy: the smolvm engine cannot enforce an egress allow-list/);
    expect(calls).toEqual([]);
    expect(fake.calls).toEqual([]);
    // The same plan on the engine as it is (it enforces allow-lists) launches.
    await using bottle = await launch(plan, { engine: inner });
    expect(fake.machine(bottle.name)?.state).toBe('running');
  });
});
