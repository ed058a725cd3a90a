// Issue 9 §3 at launch: skill files are read through checked handles before any upload (a swap
// since prepare uploads nothing), modes travel exactly but for setuid/setgid, and no existing
// dir outside the guest user's home is chowned or chmodded.
import { chmod, link, mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFakeSmolvm, type FakeSmolvm } from '../../fakes/index.ts';
import { unpackTar } from '../archive/tar.ts';
import { LaunchError, launch } from '../bottle/launch.ts';
import type { Engine } from '../engine/types.ts';
import { DockerEngine } from '../engines/docker/engine.ts';
import { SmolvmEngine } from '../engines/smolvm/engine.ts';
import type { Plan } from '../plan/plan.ts';
import { prepare } from '../plan/prepare.ts';
import type { Transport } from '../transport/types.ts';
import { ProvisionError } from './error.ts';
import { type FileTransfer, provisionFiles } from './files.ts';

const SECRET = 'host-secret-4f1c9e-never-in-a-guest';
const NODE = { name: 'node', uid: 1000, gid: 1000, home: '/home/node' };

let work: string;
let skills: string;
let env: Record<string, string>;
let fake: FakeSmolvm;
let engine: SmolvmEngine;

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'claude-bottle-skills-'));
  skills = join(work, 'skills');
  env = { HOME: join(work, 'home'), CLAUDE_BOTTLE_STATE_DIR: join(work, 'state'), CLAUDE_BOTTLE_SKILLS_DIR: skills };
  await writeTree('review', { 'SKILL.md': '# review\n', 'notes.md': 'public notes\n', 'docs/ref.md': 'ref\n' });
  await writeFile(join(work, 'secret.txt'), `${SECRET}\n`);
  fake = createFakeSmolvm();
  engine = new SmolvmEngine({ transport: fake });
});

afterEach(() => rm(work, { recursive: true, force: true }));

async function writeTree(skill: string, files: Record<string, string>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(join(skills, skill, rel, '..'), { recursive: true });
    await writeFile(join(skills, skill, rel), content);
  }
}

const planFor = (extraEnv: Record<string, string> = {}) => prepare({ name: 'skilled', skills: ['review'], user: NODE }, { env: { ...env, ...extraEnv } });

async function machine(name = 'm1'): Promise<string> {
  await engine.create({ name, image: 'alpine', labels: {}, network: { enabled: false, allowHosts: [], allowCidrs: [] } });
  await engine.start(name);
  return name;
}

/** Every file in the guest, with the content of regular files: the secret must be in none. */
function guestFiles(name: string, root = '/'): Map<string, string> {
  const fs = fake.guestFs(name);
  const out = new Map<string, string>();
  const visit = (dir: string) => {
    for (const entry of (fs?.readdirSync(dir) ?? []) as string[]) {
      const path = dir === '/' ? `/${entry}` : `${dir}/${entry}`;
      const st = fs?.lstatSync(path);
      if (st?.isDirectory()) visit(path);
      else if (st?.isFile()) out.set(path, String(fs?.readFileSync(path, 'utf8')));
    }
  };
  visit(root);
  return out;
}

const uploads = () => fake.calls.filter((c) => c.argv[1] === 'machine' && c.argv[2] === 'cp');

/** [path, type, mode (octal), uid, gid] of one guest path. */
function meta(name: string, path: string): string {
  const st = fake.guestFs(name)?.lstatSync(path, { throwIfNoEntry: false });
  if (!st) return 'missing';
  return `${st.isDirectory() ? 'dir' : 'file'} ${(Number(st.mode) & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
}

/** The ways a skill file can be swapped between prepare and launch. */
const swaps: [string, () => Promise<void>, RegExp][] = [
  [
    'a symlink to a secret',
    async () => {
      await rm(join(skills, 'review', 'notes.md'));
      await symlink(join(work, 'secret.txt'), join(skills, 'review', 'notes.md'));
    },
    /notes\.md changed since prepare: it is a symlink, not a regular file; nothing was uploaded/,
  ],
  [
    'a hard link to a secret',
    async () => {
      await rm(join(skills, 'review', 'notes.md'));
      await link(join(work, 'secret.txt'), join(skills, 'review', 'notes.md'));
    },
    /notes\.md changed since prepare: it is not the file prepare saw \(device:inode \d+:\d+, planned \d+:\d+\)/,
  ],
  [
    'a parent dir swapped for a symlink to a dir holding a secret',
    async () => {
      await mkdir(join(work, 'elsewhere'));
      await writeFile(join(work, 'elsewhere', 'ref.md'), `${SECRET}\n`);
      await rename(join(skills, 'review', 'docs'), join(work, 'old-docs'));
      await symlink(join(work, 'elsewhere'), join(skills, 'review', 'docs'));
    },
    /docs\/ref\.md changed since prepare: it is not the file prepare saw/,
  ],
  [
    'the same file rewritten to another size',
    async () => {
      await writeFile(join(skills, 'review', 'notes.md'), `${SECRET} appended\n`, { flag: 'r+' });
    },
    /notes\.md changed since prepare: it is \d+ bytes, prepare saw 13/,
  ],
  [
    'a file removed',
    async () => {
      await rm(join(skills, 'review', 'notes.md'));
    },
    /notes\.md changed since prepare: it does not exist/,
  ],
];

describe('a skill file swapped between prepare and launch', () => {
  it.each(swaps)('%s: the launch fails at provision-files, nothing is uploaded, the machine is gone', async (_what, swap, reason) => {
    const plan = await planFor();
    await swap();
    const error = await launch(plan, { engine }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LaunchError);
    expect((error as LaunchError).step).toBe('provision-files');
    expect((error as LaunchError).cause).toBeInstanceOf(ProvisionError);
    expect((error as Error).message, (error as Error).message).toMatch(reason);
    expect(uploads()).toEqual([]);
    expect(fake.calls.some((c) => c.argv.join(' ').includes(SECRET))).toBe(false);
    expect(JSON.parse((await fake.run(['smolvm', 'machine', 'ls', '--json'])).stdout)).toEqual([]);
  });

  it.each(['archive', 'per-file'] as const)('%s transfer: the guest holds no skill and no secret afterwards', async (transfer) => {
    const plan = await planFor();
    const name = await machine();
    await swaps[0]?.[1]();
    await expect(provisionFiles(engine, name, plan, transfer)).rejects.toThrow(ProvisionError);
    const files = guestFiles(name);
    expect([...files.values()].some((content) => content.includes(SECRET))).toBe(false);
    expect(meta(name, '/home/node/.claude/skills/review')).toBe('missing');
    expect(meta(name, '/home/node/.claude-bottle-prompt.txt')).toBe('missing');
  });

  it('a swap in the last file still uploads nothing (every file is read before the first upload)', async () => {
    await writeTree('zz-last', { 'SKILL.md': 'last\n' });
    const plan = await prepare({ name: 'skilled', skills: ['review', 'zz-last'], user: NODE }, { env });
    await rm(join(skills, 'zz-last', 'SKILL.md'));
    await symlink(join(work, 'secret.txt'), join(skills, 'zz-last', 'SKILL.md'));
    const name = await machine();
    const before = fake.calls.length;
    await expect(provisionFiles(engine, name, plan, 'per-file')).rejects.toThrow(/zz-last.*SKILL\.md changed since prepare: it is a symlink/);
    expect(fake.calls.slice(before)).toEqual([]);
  });

  it("an unswapped launch works, and the engine never reads the user's skill paths", async () => {
    const plan = await planFor();
    for (const transfer of ['archive', 'per-file'] as const) {
      const bottle = await launch(plan, { engine, fileTransfer: transfer });
      expect((await bottle.exec(['cat', '/home/node/.claude/skills/review/notes.md'])).stdout).toBe('public notes\n');
    }
    for (const call of uploads()) expect(call.argv[3]?.startsWith(skills)).toBe(false);
  });
});

/** A docker engine whose CLI answers every call with success, recording argv and stdin. */
function recordingDocker(): { engine: Engine; archives: () => Uint8Array[]; calls: string[][] } {
  const calls: string[][] = [];
  const stdins: Uint8Array[] = [];
  const transport: Transport = {
    run: async (argv, options) => {
      calls.push([...argv]);
      if (options?.stdin instanceof Uint8Array) stdins.push(options.stdin);
      return { argv, exitCode: 0, stdout: '', stderr: '', stdoutBytes: new Uint8Array(), durationMs: 0, timedOut: false };
    },
  };
  return { engine: new DockerEngine({ transport }), archives: () => stdins, calls };
}

describe('the tree transfer (docker cp of one archive)', () => {
  it('a swap fails before docker is called at all', async () => {
    const plan = await planFor();
    await swaps[0]?.[1]();
    const docker = recordingDocker();
    await expect(provisionFiles(docker.engine, 'c1', plan, 'tree')).rejects.toThrow(ProvisionError);
    expect(docker.calls).toEqual([]);
  });
});

describe('modes travel exactly, but for setuid and setgid', () => {
  async function modesPlan(extraEnv: Record<string, string> = {}): Promise<Plan> {
    await writeTree('modes', { 'SKILL.md': 'm\n', 'bin/tool': '#!/bin/sh\n', 'shared/note': 'n\n', group: 'g\n', sticky: 's\n' });
    await chmod(join(skills, 'modes', 'bin', 'tool'), 0o4755);
    await chmod(join(skills, 'modes', 'group'), 0o2750);
    await chmod(join(skills, 'modes', 'sticky'), 0o1644);
    await chmod(join(skills, 'modes', 'shared'), 0o1777);
    await chmod(join(skills, 'modes', 'bin'), 0o2755);
    await chmod(join(skills, 'modes'), 0o1755);
    return prepare({ name: 'modes', skills: ['modes'], user: NODE }, { env: { ...env, ...extraEnv } });
  }
  const expected = [
    ['', 'dir 1755 1000:1000'],
    ['/SKILL.md', 'file 644 1000:1000'],
    ['/bin', 'dir 755 1000:1000'],
    ['/bin/tool', 'file 755 1000:1000'],
    ['/group', 'file 750 1000:1000'],
    ['/shared', 'dir 1777 1000:1000'],
    ['/shared/note', 'file 644 1000:1000'],
    ['/sticky', 'file 1644 1000:1000'],
  ];

  it.each(['archive', 'per-file'] as FileTransfer[])('on the fake smolvm, %s transfer', async (transfer) => {
    const plan = await modesPlan();
    const name = await machine();
    await provisionFiles(engine, name, plan, transfer);
    expect(expected.map(([rel]) => [rel, meta(name, `/home/node/.claude/skills/modes${rel}`)])).toEqual(expected);
  });

  it('in the docker tree archive', async () => {
    const plan = await modesPlan();
    const docker = recordingDocker();
    await provisionFiles(docker.engine, 'c1', plan, 'tree');
    const entries = unpackTar(docker.archives()[0] as Uint8Array).filter((e) => e.path.startsWith('home/node/.claude/skills/modes'));
    const got = entries.map((e) => [
      e.path.slice('home/node/.claude/skills/modes'.length),
      `${e.type === 'directory' ? 'dir' : 'file'} ${e.mode.toString(8)} ${e.uid}:${e.gid}`,
    ]);
    expect(got.sort()).toEqual([...expected].sort());
  });
});

describe('no existing dir outside the home is chowned or chmodded', () => {
  it.each(['archive', 'per-file'] as FileTransfer[])("%s: a pre-existing /opt/x (root 0750) stays root 0750; the skill dir is the user's", async (transfer) => {
    const plan = await planFor({ CLAUDE_BOTTLE_GUEST_SKILLS_DIR: '/opt/x' });
    const name = await machine();
    expect((await engine.exec(name, ['sh', '-c', 'mkdir -p /opt/x && chmod 750 /opt/x && chmod 711 /opt'])).exitCode).toBe(0);
    await provisionFiles(engine, name, plan, transfer);
    expect(meta(name, '/opt')).toBe('dir 711 0:0');
    expect(meta(name, '/opt/x')).toBe('dir 750 0:0');
    expect(meta(name, '/opt/x/review')).toBe('dir 755 1000:1000');
    expect(meta(name, '/opt/x/review/notes.md')).toBe('file 644 1000:1000');
  });

  it('a missing skills dir outside the home is created root 0755', async () => {
    const plan = await planFor({ CLAUDE_BOTTLE_GUEST_SKILLS_DIR: '/srv/skills/deep' });
    const name = await machine();
    await provisionFiles(engine, name, plan, 'archive');
    expect(meta(name, '/srv/skills/deep')).toBe('dir 755 0:0');
    expect(meta(name, '/srv/skills/deep/review')).toBe('dir 755 1000:1000');
  });

  it('the tree archive has no entry for /opt/x or its parents, only for the skill dirs', async () => {
    const plan = await planFor({ CLAUDE_BOTTLE_GUEST_SKILLS_DIR: '/opt/x' });
    const docker = recordingDocker();
    await provisionFiles(docker.engine, 'c1', plan, 'tree');
    const dirs = unpackTar(docker.archives()[0] as Uint8Array)
      .filter((e) => e.type === 'directory')
      .map((e) => e.path);
    expect(dirs).toEqual(['opt/x/review', 'opt/x/review/docs']);
  });

  it("under the home, the dirs between home and the skills dir are the user's (and only those)", async () => {
    const plan = await planFor();
    const docker = recordingDocker();
    await provisionFiles(docker.engine, 'c1', plan, 'tree');
    const dirs = unpackTar(docker.archives()[0] as Uint8Array)
      .filter((e) => e.type === 'directory')
      .map((e) => `${e.path} ${e.uid}`);
    expect(dirs).toEqual([
      'home/node/.claude 1000',
      'home/node/.claude/skills 1000',
      'home/node/.claude/skills/review 1000',
      'home/node/.claude/skills/review/docs 1000',
    ]);
  });
});

describe('the prompt file prepare wrote', () => {
  it('altered after prepare: the launch fails before any upload', async () => {
    const plan = await prepare({ name: 'skilled', prompt: 'the real prompt', skills: ['review'], user: NODE }, { env });
    await writeFile(plan.prompt.hostPath, 'an injected prompt');
    const error = await launch(plan, { engine }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/prompt: .*prompt\.txt is not the prompt prepare wrote \(its sha256 differs\); prepare again/);
    expect(uploads()).toEqual([]);
  });
});
