// Issue 9 §3 on real Docker: a skill file swapped since prepare uploads nothing, modes travel
// exactly but for setuid/setgid, no existing dir outside the home is chowned or chmodded, and
// engine configuration errors are found at prepare. Every transfer is exercised: tree (docker cp
// of node-tar's archive), archive (busybox tar in the guest) and per-file.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, inject, it, type TestContext } from 'vitest';
import { LaunchError, launch } from '../../src/bottle/launch.ts';
import { newLaunchId, ownLabels } from '../../src/engine/ownership.ts';
import { DockerEngine } from '../../src/engines/docker/engine.ts';
import { ConfigError } from '../../src/errors.ts';
import type { Plan } from '../../src/plan/plan.ts';
import { prepare } from '../../src/plan/prepare.ts';
import { ProvisionError } from '../../src/provision/error.ts';
import { type FileTransfer, provisionFiles } from '../../src/provision/files.ts';
import { createProcessTransport } from '../../src/transport/process.ts';

const setup = inject('docker');
const engine = new DockerEngine({ transport: createProcessTransport() });
const NODE = { name: 'node', uid: 1000, gid: 1000, home: '/home/node' };
const SECRET = `host-secret-${randomBytes(6).toString('hex')}`;
const TRANSFERS: FileTransfer[] = ['tree', 'archive', 'per-file'];
const run = randomBytes(3).toString('hex');
const machines = new Set<string>();
let work: string;
let env: Record<string, string>;

function ready(ctx: TestContext): string {
  if (setup.engine === 'ready') return setup.image;
  if (setup.engine === 'broken' || process.env.CI === 'true') throw new Error(`Docker tests must run in CI: ${setup.reason}`);
  return ctx.skip(setup.reason) as never;
}

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'claude-bottle-docker-inputs-'));
  env = { HOME: join(work, 'home'), CLAUDE_BOTTLE_STATE_DIR: join(work, 'state'), CLAUDE_BOTTLE_SKILLS_DIR: join(work, 'skills') };
  await writeFile(join(work, 'secret.txt'), `${SECRET}\n`);
  return () => rm(work, { recursive: true, force: true });
});

afterAll(async () => {
  for (const name of machines) await engine.remove(name).catch(() => undefined);
});

async function writeTree(skill: string, files: Record<string, string>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(join(work, 'skills', skill, rel, '..'), { recursive: true });
    await writeFile(join(work, 'skills', skill, rel), content);
  }
}

async function machine(image: string, tag: string): Promise<string> {
  const name = `cb-inputs-${run}-${tag}`;
  machines.add(name);
  await engine.create({ name, image, labels: ownLabels(newLaunchId()), network: { enabled: false, allowHosts: [], allowCidrs: [] } });
  await engine.start(name);
  return name;
}

async function sh(name: string, script: string, ...args: string[]): Promise<string> {
  const result = await engine.exec(name, ['sh', '-c', script, 'sh', ...args], { user: { uid: 0, gid: 0 } });
  if (result.exitCode !== 0) throw new Error(`${script}: exit ${result.exitCode}: ${result.stderr}`);
  return result.stdout;
}

const statOf = (name: string, ...paths: string[]) => sh(name, `stat -c '%n %a %u:%g' "$@"`, ...paths);

describe('a skill file swapped for a symlink to a secret between prepare and launch', () => {
  it('launch fails at provision-files, names the file, and the container is removed', async (ctx) => {
    const image = ready(ctx);
    await writeTree('review', { 'SKILL.md': '# review\n', 'notes.md': 'public\n' });
    const plan = await prepare({ name: 'swapped', image, skills: ['review'], user: NODE }, { env, engine });
    await rm(join(work, 'skills', 'review', 'notes.md'));
    await symlink(join(work, 'secret.txt'), join(work, 'skills', 'review', 'notes.md'));
    const name = `cb-inputs-${run}-launch`;
    machines.add(name);
    const error = await launch(plan, { engine, name }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LaunchError);
    expect((error as LaunchError).step).toBe('provision-files');
    expect((error as Error).message).toContain('notes.md changed since prepare: it is a symlink, not a regular file; nothing was uploaded');
    expect(await engine.status(name)).toBeUndefined();
  });

  it.for(TRANSFERS)('%s: the guest file system holds neither the secret nor any skill file', async (transfer, ctx) => {
    const image = ready(ctx);
    await writeTree('review', { 'SKILL.md': '# review\n', 'notes.md': 'public\n' });
    const plan = await prepare({ name: 'swapped', image, prompt: 'p', skills: ['review'], user: NODE }, { env, engine });
    await rm(join(work, 'skills', 'review', 'notes.md'));
    await symlink(join(work, 'secret.txt'), join(work, 'skills', 'review', 'notes.md'));
    const name = await machine(image, `swap-${transfer}`);
    await expect(provisionFiles(engine, name, plan, transfer)).rejects.toThrow(ProvisionError);
    const found = await engine.exec(name, ['sh', '-c', 'grep -rl "$1" / --exclude-dir=proc --exclude-dir=sys 2>/dev/null; ls -a /home/node', 'sh', SECRET]);
    expect(found.stdout).toBe('.\n..\n');
  });
});

describe('modes travel exactly, but for setuid and setgid', () => {
  async function modesPlan(image: string, extraEnv: Record<string, string> = {}): Promise<Plan> {
    await writeTree('modes', { 'SKILL.md': 'm\n', 'bin/tool': '#!/bin/sh\necho tool\n', 'shared/note': 'n\n', group: 'g\n', sticky: 's\n' });
    await chmod(join(work, 'skills', 'modes', 'bin', 'tool'), 0o4755);
    await chmod(join(work, 'skills', 'modes', 'group'), 0o2750);
    await chmod(join(work, 'skills', 'modes', 'sticky'), 0o1644);
    await chmod(join(work, 'skills', 'modes', 'shared'), 0o1777);
    await chmod(join(work, 'skills', 'modes', 'bin'), 0o2755);
    await chmod(join(work, 'skills', 'modes'), 0o1755);
    return prepare({ name: 'modes', image, skills: ['modes'], user: NODE }, { env: { ...env, ...extraEnv }, engine });
  }

  it.for(TRANSFERS)('%s: sticky kept, setuid/setgid dropped, owners the agent user', async (transfer, ctx) => {
    const image = ready(ctx);
    const plan = await modesPlan(image);
    const name = await machine(image, `modes-${transfer}`);
    await provisionFiles(engine, name, plan, transfer);
    const dir = '/home/node/.claude/skills/modes';
    expect(
      await statOf(name, dir, `${dir}/SKILL.md`, `${dir}/bin`, `${dir}/bin/tool`, `${dir}/group`, `${dir}/shared`, `${dir}/shared/note`, `${dir}/sticky`),
    ).toBe(
      [
        `${dir} 1755 1000:1000`,
        `${dir}/SKILL.md 644 1000:1000`,
        `${dir}/bin 755 1000:1000`,
        `${dir}/bin/tool 755 1000:1000`,
        `${dir}/group 750 1000:1000`,
        `${dir}/shared 1777 1000:1000`,
        `${dir}/shared/note 644 1000:1000`,
        `${dir}/sticky 1644 1000:1000`,
        '',
      ].join('\n'),
    );
    expect(await statOf(name, '/home/node/.claude', '/home/node/.claude/skills')).toBe(
      '/home/node/.claude 755 1000:1000\n/home/node/.claude/skills 755 1000:1000\n',
    );
    expect(await sh(name, '"$1"', `${dir}/bin/tool`)).toBe('tool\n');
  });
});

describe('no existing dir outside the home is chowned or chmodded', () => {
  it.for(TRANSFERS)("%s: /opt/x (root 0750, in root 0711 /opt) stays as it was; the skill dir is the user's", async (transfer, ctx) => {
    const image = ready(ctx);
    await writeTree('review', { 'SKILL.md': '# review\n', 'docs/ref.md': 'ref\n' });
    const plan = await prepare({ name: 'opt', image, skills: ['review'], user: NODE }, { env: { ...env, CLAUDE_BOTTLE_GUEST_SKILLS_DIR: '/opt/x' }, engine });
    const name = await machine(image, `opt-${transfer}`);
    await sh(name, 'mkdir -p /opt/x && chmod 711 /opt && chmod 750 /opt/x');
    await provisionFiles(engine, name, plan, transfer);
    expect(await statOf(name, '/opt', '/opt/x', '/opt/x/review', '/opt/x/review/docs/ref.md')).toBe(
      '/opt 711 0:0\n/opt/x 750 0:0\n/opt/x/review 755 1000:1000\n/opt/x/review/docs/ref.md 644 1000:1000\n',
    );
  });

  it('a missing skills dir outside the home is created, root 0755', async (ctx) => {
    const image = ready(ctx);
    await writeTree('review', { 'SKILL.md': '# review\n' });
    const plan = await prepare(
      { name: 'srv', image, skills: ['review'], user: NODE },
      { env: { ...env, CLAUDE_BOTTLE_GUEST_SKILLS_DIR: '/srv/skills' }, engine },
    );
    const name = await machine(image, 'srv');
    await provisionFiles(engine, name, plan, 'tree');
    expect(await statOf(name, '/srv', '/srv/skills', '/srv/skills/review')).toBe('/srv 755 0:0\n/srv/skills 755 0:0\n/srv/skills/review 755 1000:1000\n');
  });

  it('/etc is refused at prepare: exit-3 ConfigError, nothing written, no container', async (ctx) => {
    const image = ready(ctx);
    const error = await prepare({ name: 'etc', image, prompt: 'p' }, { env: { ...env, CLAUDE_BOTTLE_GUEST_SKILLS_DIR: '/etc' }, engine }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues[0]?.path).toBe('CLAUDE_BOTTLE_GUEST_SKILLS_DIR');
    expect(existsSync(env.CLAUDE_BOTTLE_STATE_DIR as string)).toBe(false);
  });
});

describe('docker configuration errors are found at prepare, with the real engine', () => {
  it.for([
    ['image', { image: '-v/:/host' }],
    ['env.HTTP_PROXY', { env: { HTTP_PROXY: 'http://proxy\nX=1' } }],
    ['env.TOKEN', { env: { TOKEN: 'a\u0000b' } }],
  ] as const)('%s', async ([field, spec], ctx) => {
    ready(ctx);
    const error = await prepare({ name: 'cfg', prompt: 'p', ...spec }, { env, engine }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((i) => i.path)).toContain(field);
    expect(existsSync(env.CLAUDE_BOTTLE_STATE_DIR as string)).toBe(false);
  });
});
