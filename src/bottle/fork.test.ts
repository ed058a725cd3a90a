import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFakeSmolvm, type FakeSmolvm } from '../../fakes/index.ts';
import { parseAgentSpec } from '../agent/spec.ts';
import type { Engine } from '../engine/types.ts';
import { SmolvmEngine } from '../engines/smolvm/engine.ts';
import { prepare } from '../plan/prepare.ts';
import { Bottle, BottleFrozenError, BottleHasForksError } from './bottle.ts';
import { ForkError, forkPlanFor } from './fork.ts';
import { launch } from './launch.ts';

let work = '';
let fake: FakeSmolvm;
let engine: SmolvmEngine;
let env: Record<string, string>;

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'cb-fork-'));
  env = { HOME: join(work, 'home'), CLAUDE_BOTTLE_STATE_DIR: join(work, 'state'), CLAUDE_BOTTLE_SKILLS_DIR: join(work, 'skills') };
  await mkdir(join(work, 'skills', 'changelog'), { recursive: true });
  await writeFile(join(work, 'skills', 'changelog', 'SKILL.md'), '---\nname: changelog\ndescription: d\n---\n');
  fake = createFakeSmolvm();
  engine = new SmolvmEngine({ transport: fake });
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

const golden = async () => launch(await prepare(parseAgentSpec({ name: 'gold', prompt: 'Be brief.', skills: ['changelog'] }), { env }), { engine });
const verbs = (from: number) => fake.calls.slice(from).map((c) => c.argv.slice(1, 3).join(' '));

describe('fork on the fake smolvm', () => {
  it('makes independent copies of the provisioned golden, with no upload, at one fork call each', async () => {
    const g = await golden();
    const before = fake.calls.length;
    const [a, b] = await g.fork(2);
    if (!a || !b) return expect.fail('two forks');
    expect([a.name, b.name]).toEqual([`${g.name}-f1`, `${g.name}-f2`]);
    // The golden restarted as a fork source, one fork per clone; a status per name (free?) and the golden's.
    expect(verbs(before).filter((v) => v !== 'machine status')).toEqual(['machine stop', 'machine start', 'machine fork', 'machine fork']);
    expect(verbs(before).filter((v) => v === 'machine status')).toHaveLength(3);
    expect(fake.calls.slice(before).some((c) => c.argv[2] === 'cp')).toBe(false);
    for (const fork of [a, b]) {
      expect((await fork.exec(['cat', '/root/.claude-bottle-prompt.txt'])).stdout).toBe('Be brief.');
      expect((await fork.exec(['cat', '/root/.claude/skills/changelog/SKILL.md'])).exitCode).toBe(0);
      expect(fork.forkOf?.name).toBe(g.name);
      expect(fork.promptPath).toBe(g.promptPath);
    }
    expect(await a.exec(['sh', '-c', 'echo mine > /root/only-a'])).toMatchObject({ exitCode: 0 });
    expect((await b.exec(['cat', '/root/only-a'])).exitCode).not.toBe(0);

    // The golden is frozen while its forks live (smolvm 1.9): no command, no removal without cascade.
    expect(g.frozen).toBe(true);
    await expect(g.exec(['true'])).rejects.toBeInstanceOf(BottleFrozenError);
    await expect(g.remove()).rejects.toBeInstanceOf(BottleHasForksError);
    await a.remove();
    await b.remove();
    // With its forks gone it thaws (a cold start) and runs commands; a fork's write is not in it.
    expect((await g.exec(['cat', '/root/only-a'])).exitCode).not.toBe(0);
    expect((await g.exec(['cat', '/root/.claude-bottle-prompt.txt'])).stdout).toBe('Be brief.');
    await g.remove();
    expect(JSON.parse((await fake.run(['smolvm', 'machine', 'ls', '--json'])).stdout)).toEqual([]);
  });

  it('remove({ cascade }) takes the forks first, then the golden', async () => {
    const g = await golden();
    await g.fork(3);
    await g.remove({ cascade: true });
    expect(JSON.parse((await fake.run(['smolvm', 'machine', 'ls', '--json'])).stdout)).toEqual([]);
  });

  it('a failed fork leaves no clone and names the step', async () => {
    const g = await golden();
    fake.injectFault((argv) => argv[2] === 'fork' && argv.includes(`${g.name}-f2`), { exitCode: 1, stderr: 'Error: agent operation failed: fork: injected\n' });
    const error = await g.fork(2).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ForkError);
    expect(error).toMatchObject({ step: 'fork', rollbackError: undefined });
    const names = (JSON.parse((await fake.run(['smolvm', 'machine', 'ls', '--json'])).stdout) as { name: string }[]).map((m) => m.name);
    expect(names.filter((n) => n.startsWith(`${g.name}-f`))).toEqual([]);
    // The engine froze the golden before the second clone failed: the handle knows, and thaws it.
    expect(g.frozen).toBe(true);
    expect((await g.exec(['cat', '/root/.claude-bottle-prompt.txt'])).stdout).toBe('Be brief.');
    expect(g.frozen).toBe(false);
  });

  it("a fork's machine carries its golden's launch id (smolvm clones inherit labels): its own removal still finds it ours", async () => {
    const g = await golden();
    const [a] = await g.fork(1);
    if (!a) return expect.fail('one fork');
    expect(a.launchId).not.toBe(g.launchId);
    const info = await engine.status(a.name);
    expect(info?.labels['claude-bottle.launch']).toBe(g.launchId);
    await a.remove();
    expect(a.removeOutcome).toBe('removed');
    expect(await engine.status(a.name)).toBeUndefined();
    await g.remove();
  });

  it('an engine without fork launches each copy anew, and says so', async () => {
    const plain: Engine = new Proxy(engine, {
      get(target, prop) {
        if (prop === 'capabilities') return { ...target.capabilities, fork: false };
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const notices: string[] = [];
    const reopened = await launch(await prepare(parseAgentSpec({ name: 'gold', prompt: 'Be brief.' }), { env }), { engine: plain });
    const forks = await reopened.fork(2, { onNotice: (m) => notices.push(m) });
    expect(notices).toEqual([expect.stringMatching(/cannot fork: launching 2 copies .* anew/)]);
    for (const fork of forks) expect((await fork.exec(['cat', '/root/.claude-bottle-prompt.txt'])).stdout).toBe('Be brief.');
    expect(reopened.frozen).toBe(false);
    await reopened.remove({ cascade: true });
    expect(JSON.parse((await fake.run(['smolvm', 'machine', 'ls', '--json'])).stdout)).toEqual([]);
  });

  it('remove() stops the daemons even when removing the fork base fails', async () => {
    const failing: Engine = Object.assign(Object.create(engine) as Engine, {
      removeForkBase: async () => {
        throw new Error('fork base: injected');
      },
    });
    let stopped = 0;
    const bottle = new Bottle({
      name: 'lone',
      engine: failing,
      user: { name: 'root', uid: 0, gid: 0, home: '/root' },
      forkBase: { kind: 'image', id: 'sha256:0123456789ab' },
      onRemove: async () => void stopped++,
    });
    await expect(bottle.remove()).rejects.toThrow('fork base: injected');
    expect(stopped).toBe(1);
  });

  it("a fork's git plan has its own prefix and branch under the golden's", () => {
    const plan = { git: { prefix: 'bottle/rev/', branch: 'bottle/rev/work' } } as unknown as Parameters<typeof forkPlanFor>[0];
    expect(forkPlanFor(plan, 'f2').git).toMatchObject({ prefix: 'bottle/rev/f2/', branch: 'bottle/rev/f2/work' });
  });
});
