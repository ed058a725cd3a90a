import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { memfs } from 'memfs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type HostFs, nodeHostFs } from '../host/fs.ts';
import { type AgentSpecInput, loadAgentFile, parseAgentSpec } from '../agent/spec.ts';
import { ConfigError } from '../errors.ts';
import { type Plan, PlanSchema, redactPlan } from './plan.ts';
import { prepare, type PrepareOptions } from './prepare.ts';

let tmp: string;
let home: string;
let stateRoot: string;
let env: Record<string, string>;

beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'claude-bottle-prepare-'));
  home = join(tmp, 'home');
  stateRoot = join(tmp, 'state');
  env = { CLAUDE_BOTTLE_STATE_DIR: stateRoot, HOME: home };
});

afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;
/** What prepare records to recognise a skill file at launch. */
const identity = async (path: string) => {
  const stats = await lstat(path, { bigint: true });
  return { dev: String(stats.dev), ino: String(stats.ino) };
};
const agentDir = (slug: string) => join(stateRoot, 'agents', slug);
const run = (agent: AgentSpecInput, options: PrepareOptions = {}) => prepare(agent, { env, homedir: home, ...options });

async function writeTree(root: string, files: Record<string, string | { content: string; mode: number }>): Promise<void> {
  for (const [path, file] of Object.entries(files)) {
    const full = join(root, path);
    await mkdir(dirname(full), { recursive: true });
    const { content, mode } = typeof file === 'string' ? { content: file, mode: 0o644 } : file;
    await writeFile(full, content);
    await chmod(full, mode);
  }
}

async function configError(promise: Promise<unknown>): Promise<ConfigError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

describe('the prompt file', () => {
  it('is written 0600 in a 0700 state dir, content exact, and described in the plan', async () => {
    const prompt = 'You review code.\nÜnïcödé ✓\n\n  trailing spaces  \n';
    const plan = await run({ name: 'reviewer', prompt });
    const dir = agentDir('reviewer');
    expect(plan.stateDir).toBe(dir);
    expect(plan.prompt.hostPath).toBe(join(dir, 'prompt.txt'));
    expect(await readFile(plan.prompt.hostPath, 'utf8')).toBe(prompt);
    expect(await modeOf(plan.prompt.hostPath)).toBe(0o600);
    expect(await modeOf(dir)).toBe(0o700);
    expect(plan.prompt).toMatchObject({
      guestPath: '/root/.claude-bottle-prompt.txt',
      bytes: Buffer.byteLength(prompt),
      sha256: createHash('sha256').update(prompt).digest('hex'),
      empty: false,
    });
  });

  it('is written even when the prompt is empty', async () => {
    const plan = await run({ name: 'quiet' });
    expect(await readFile(plan.prompt.hostPath, 'utf8')).toBe('');
    expect(await modeOf(plan.prompt.hostPath)).toBe(0o600);
    expect(plan.prompt).toMatchObject({ bytes: 0, empty: true, sha256: createHash('sha256').digest('hex') });
  });

  it('lives in the guest home of the agent user', async () => {
    const plan = await run({ name: 'a', user: { name: 'agent', uid: 1000, gid: 1000, home: '/home/agent/' } });
    expect(plan.prompt.guestPath).toBe('/home/agent/.claude-bottle-prompt.txt');
    expect(plan.skills.guestDir).toBe('/home/agent/.claude/skills');
  });

  it('is replaced atomically: no temp file is left, and a second prepare overwrites', async () => {
    await run({ name: 'a', prompt: 'first' });
    const plan = await run({ name: 'a', prompt: 'second' });
    expect(await readFile(plan.prompt.hostPath, 'utf8')).toBe('second');
    expect(await readdir(plan.stateDir)).toEqual(['prompt.txt']);
  });

  it('tightens an existing state dir that is too open', async () => {
    await mkdir(agentDir('a'), { recursive: true });
    await chmod(agentDir('a'), 0o755);
    await run({ name: 'a' });
    expect(await modeOf(agentDir('a'))).toBe(0o700);
  });

  it('a failed rename leaves the previous prompt and no partial or temp file', async () => {
    await run({ name: 'a', prompt: 'previous' });
    const fs: HostFs = { ...nodeHostFs, rename: () => Promise.reject(Object.assign(new Error('EIO: rename failed'), { code: 'EIO' })) };
    await expect(run({ name: 'a', prompt: 'next' }, { fs })).rejects.toThrow('EIO');
    expect(await readdir(agentDir('a'))).toEqual(['prompt.txt']);
    expect(await readFile(join(agentDir('a'), 'prompt.txt'), 'utf8')).toBe('previous');
  });

  it('a failed first write leaves no prompt file at all', async () => {
    const fs: HostFs = { ...nodeHostFs, rename: () => Promise.reject(new Error('EIO: rename failed')) };
    await expect(run({ name: 'a', prompt: 'next' }, { fs })).rejects.toThrow('EIO');
    expect(await readdir(agentDir('a'))).toEqual([]);
  });

  it('works on an injected memfs too', async () => {
    const { fs } = memfs({ '/h/.claude/skills/git/SKILL.md': '# git' });
    const plan = await prepare({ name: 'mem', prompt: 'hi', skills: ['git'] }, { fs: fs.promises, env: { CLAUDE_BOTTLE_STATE_DIR: '/state' }, homedir: '/h' });
    expect(fs.readFileSync('/state/agents/mem/prompt.txt', 'utf8')).toBe('hi');
    expect(fs.statSync('/state/agents/mem/prompt.txt').mode & 0o777).toBe(0o600);
    expect(fs.statSync('/state/agents/mem').mode & 0o777).toBe(0o700);
    expect(plan.skills.items[0]?.hostDir).toBe('/h/.claude/skills/git');
    expect(existsSync(stateRoot)).toBe(false);
  });
});

describe('skills', () => {
  it('are walked: files sorted with modes (executable bit kept) and sizes, dirs parents first', async () => {
    const skills = join(home, '.claude', 'skills');
    await writeTree(join(skills, 'git'), {
      'SKILL.md': '# git\n',
      'scripts/run.sh': { content: '#!/bin/sh\necho hi\n', mode: 0o755 },
      'docs/ref/deep.md': 'deep',
      'docs/a.md': 'a',
    });
    await chmod(join(skills, 'git'), 0o750);
    const plan = await run({ name: 'a', skills: ['git'] });
    expect(plan.skills.guestDir).toBe('/root/.claude/skills');
    expect(plan.skills.items).toEqual([
      {
        name: 'git',
        hostDir: join(skills, 'git'),
        mode: 0o750,
        files: [
          { path: 'SKILL.md', mode: 0o644, size: 6, ...(await identity(join(skills, 'git', 'SKILL.md'))) },
          { path: 'docs/a.md', mode: 0o644, size: 1, ...(await identity(join(skills, 'git', 'docs', 'a.md'))) },
          { path: 'docs/ref/deep.md', mode: 0o644, size: 4, ...(await identity(join(skills, 'git', 'docs', 'ref', 'deep.md'))) },
          { path: 'scripts/run.sh', mode: 0o755, size: 18, ...(await identity(join(skills, 'git', 'scripts', 'run.sh'))) },
        ],
        dirs: [
          { path: 'docs', mode: 0o755 },
          { path: 'docs/ref', mode: 0o755 },
          { path: 'scripts', mode: 0o755 },
        ],
      },
    ]);
  });

  it('keep permission and sticky bits exactly; setuid and setgid never travel', async () => {
    const skills = join(home, '.claude', 'skills');
    await writeTree(join(skills, 's'), {
      'SKILL.md': 'x',
      tool: { content: 'x', mode: 0o4755 },
      group: { content: 'x', mode: 0o2750 },
      odd: { content: 'x', mode: 0o1604 },
    });
    await mkdir(join(skills, 's', 'shared'));
    await chmod(join(skills, 's', 'shared'), 0o1777);
    await chmod(join(skills, 's'), 0o3751);
    const plan = await run({ name: 'a', skills: ['s'] });
    const item = plan.skills.items[0];
    expect(item?.files.map((f) => [f.path, f.mode.toString(8)])).toEqual([
      ['SKILL.md', '644'],
      ['group', '750'],
      ['odd', '1604'],
      ['tool', '755'],
    ]);
    expect(item?.dirs).toEqual([{ path: 'shared', mode: 0o1777 }]);
    expect(item?.mode).toBe(0o1751);
  });

  it('come from CLAUDE_BOTTLE_SKILLS_DIR when the spec names no skillsDir', async () => {
    const dir = join(tmp, 'env-skills');
    await writeTree(join(dir, 'lint'), { 'SKILL.md': 'lint' });
    const plan = await run({ name: 'a', skills: ['lint'] }, { env: { ...env, CLAUDE_BOTTLE_SKILLS_DIR: dir } });
    expect(plan.skills.items[0]?.hostDir).toBe(join(dir, 'lint'));
  });

  it("come from the spec's skillsDir before CLAUDE_BOTTLE_SKILLS_DIR, relative to the agent file", async () => {
    await writeTree(join(tmp, 'project', 'skills', 'lint'), { 'SKILL.md': 'lint' });
    await writeTree(join(tmp, 'project', 'agents'), { 'rev.yaml': 'name: rev\nskills: [lint]\nskillsDir: ../skills\n' });
    const spec = await loadAgentFile(join(tmp, 'project', 'agents', 'rev.yaml'));
    const plan = await run(spec, { env: { ...env, CLAUDE_BOTTLE_SKILLS_DIR: join(tmp, 'elsewhere') } });
    expect(plan.skills.items[0]?.hostDir).toBe(join(tmp, 'project', 'skills', 'lint'));
  });

  it('may be a symlinked skill dir (dotfiles), but may not contain symlinks', async () => {
    const skills = join(home, '.claude', 'skills');
    await writeTree(join(tmp, 'dotfiles', 'git'), { 'SKILL.md': 'git' });
    await mkdir(skills, { recursive: true });
    await symlink(join(tmp, 'dotfiles', 'git'), join(skills, 'git'));
    expect((await run({ name: 'a', skills: ['git'] })).skills.items[0]?.files).toEqual([
      { path: 'SKILL.md', mode: 0o644, size: 3, ...(await identity(join(tmp, 'dotfiles', 'git', 'SKILL.md'))) },
    ]);

    await symlink('/etc/passwd', join(tmp, 'dotfiles', 'git', 'passwd'));
    const error = await configError(run({ name: 'b', skills: ['git'] }));
    expect(error.message).toBe(
      `skills[0]: skill "git": ${join(skills, 'git', 'passwd')} is a symlink; a skill holds only regular files and directories (copy the target in)`,
    );
    expect(existsSync(agentDir('b'))).toBe(false);
  });

  it('a missing skill fails before the state dir exists, naming the skill and where it looked', async () => {
    const dir = join(tmp, 'env-skills');
    await mkdir(dir);
    const error = await configError(run({ name: 'a', skills: ['nope'] }, { env: { ...env, CLAUDE_BOTTLE_SKILLS_DIR: dir } }));
    expect(error.message).toBe(`skills[0]: skill "nope" not found: no directory ${join(dir, 'nope')} (skills dir ${dir}, from CLAUDE_BOTTLE_SKILLS_DIR)`);
    expect(error.issues).toEqual([{ path: 'skills[0]', message: expect.stringContaining('"nope" not found') }]);
    expect(existsSync(stateRoot)).toBe(false);
  });

  it('a skill without SKILL.md fails, as does a file where the dir should be', async () => {
    const skills = join(home, '.claude', 'skills');
    await writeTree(skills, { 'bare/README.md': 'no manifest', flat: 'a file' });
    const error = await configError(run({ name: 'a', skills: ['bare', 'flat'] }));
    expect(error.message.split('\n')).toEqual([
      `skills[0]: skill "bare" has no SKILL.md: expected the file ${join(skills, 'bare', 'SKILL.md')} (skills dir ${skills}, from the default ~/.claude/skills)`,
      `skills[1]: skill "flat": ${join(skills, 'flat')} is not a directory (skills dir ${skills}, from the default ~/.claude/skills)`,
    ]);
    expect(existsSync(stateRoot)).toBe(false);
  });

  it('report every bad skill at once', async () => {
    const error = await configError(run({ name: 'a', skills: ['one', 'two'] }));
    expect(error.issues.map((i) => i.path)).toEqual(['skills[0]', 'skills[1]']);
  });

  it('refuse a relative CLAUDE_BOTTLE_SKILLS_DIR', async () => {
    const error = await configError(run({ name: 'a', skills: ['x'] }, { env: { ...env, CLAUDE_BOTTLE_SKILLS_DIR: 'skills' } }));
    expect(error.message).toBe('CLAUDE_BOTTLE_SKILLS_DIR: "skills" is not an absolute path');
    expect(existsSync(stateRoot)).toBe(false);
  });
});

describe('CLAUDE_BOTTLE_GUEST_SKILLS_DIR', () => {
  it('overrides the guest skills dir, normalised', async () => {
    const plan = await run({ name: 'a' }, { env: { ...env, CLAUDE_BOTTLE_GUEST_SKILLS_DIR: '/opt//skills/' } });
    expect(plan.skills.guestDir).toBe('/opt/skills');
  });

  it.each([
    ['relative', 'skills', 'is not absolute'],
    ['with ..', '/opt/../etc', "has a '..' segment"],
    ['with :', '/opt/a:b', "has a ':'"],
    ['with a newline', '/opt/a\nb', 'has control characters'],
  ])('is refused when %s, before anything is written', async (_what, value, why) => {
    const error = await configError(run({ name: 'a' }, { env: { ...env, CLAUDE_BOTTLE_GUEST_SKILLS_DIR: value } }));
    expect(error.message).toContain(`CLAUDE_BOTTLE_GUEST_SKILLS_DIR: ${JSON.stringify(value)} is not a valid guest skills dir: it ${why}`);
    expect(existsSync(stateRoot)).toBe(false);
  });
});

describe('the plan', () => {
  async function fullPlan(): Promise<Plan> {
    await writeTree(join(home, '.claude', 'skills', 'git'), { 'SKILL.md': 'g', 'bin/x': { content: 'x', mode: 0o700 } });
    return run(
      {
        name: 'reviewer',
        prompt: 'p',
        skills: ['git'],
        image: 'node:22',
        user: { name: 'node', uid: 1000, gid: 1000, home: '/home/node' },
        env: { TOKEN: 'sk-secret' },
      },
      { now: () => new Date('2025-01-02T03:04:05.000Z') },
    );
  }

  it('carries the agent, slug = name, and preparedAt', async () => {
    const plan = await fullPlan();
    expect(plan.version).toBe(2);
    expect(plan.agent).toEqual({
      name: 'reviewer',
      slug: 'reviewer',
      image: 'node:22',
      user: { name: 'node', uid: 1000, gid: 1000, home: '/home/node' },
      env: { TOKEN: 'sk-secret' },
    });
    expect(plan.preparedAt).toBe('2025-01-02T03:04:05.000Z');
  });

  it('round-trips through JSON', async () => {
    const plan = await fullPlan();
    expect(PlanSchema.parse(JSON.parse(JSON.stringify(plan)))).toEqual(plan);
  });

  it('schema refuses unsafe paths and modes', async () => {
    const plan = await fullPlan();
    const item = plan.skills.items[0];
    if (!item) throw new Error('no skill');
    const withFile = (file: Plan['skills']['items'][number]['files'][number]) => ({
      ...plan,
      skills: { ...plan.skills, items: [{ ...item, files: [file] }] },
    });
    const id = { dev: '1', ino: '2' };
    expect(PlanSchema.safeParse(withFile({ path: 'x', mode: 0o1755, size: 1, ...id })).success).toBe(true);
    expect(PlanSchema.safeParse(withFile({ path: '../x', mode: 0o644, size: 1, ...id })).success).toBe(false);
    expect(PlanSchema.safeParse(withFile({ path: '/etc/x', mode: 0o644, size: 1, ...id })).success).toBe(false);
    expect(PlanSchema.safeParse(withFile({ path: 'x', mode: 0o4755, size: 1, ...id })).success).toBe(false);
    expect(PlanSchema.safeParse(withFile({ path: 'x', mode: 0o2755, size: 1, ...id })).success).toBe(false);
    expect(PlanSchema.safeParse(withFile({ path: 'x', mode: 0o644, size: 1, dev: '1', ino: '-2' })).success).toBe(false);
    expect(PlanSchema.safeParse(withFile({ path: 'x', mode: 0o644, size: 1, dev: 1, ino: '2' } as never)).success).toBe(false);
    expect(PlanSchema.safeParse({ ...plan, skills: { ...plan.skills, guestDir: 'rel' } }).success).toBe(false);
    expect(PlanSchema.safeParse({ ...plan, version: 1 }).success).toBe(false);
    expect(PlanSchema.safeParse({ ...plan, extra: 1 }).success).toBe(false);
  });

  it('redactPlan hides env values and keeps names', async () => {
    const redacted = redactPlan(await fullPlan());
    expect(redacted.agent.env).toEqual({ TOKEN: '<redacted>' });
    expect(JSON.stringify(redacted)).not.toContain('sk-secret');
  });

  it('prepare re-validates what JS callers hand in, before writing', async () => {
    const error = await configError(run({ name: '../../etc' } as AgentSpecInput));
    expect(error.message).toContain('name: "../../etc" is not a valid agent name');
    expect(existsSync(stateRoot)).toBe(false);
  });

  it('accepts a parsed spec as well as raw input', async () => {
    const plan = await run(parseAgentSpec({ name: 'parsed', prompt: 'x' }));
    expect(plan.agent.slug).toBe('parsed');
  });
});
