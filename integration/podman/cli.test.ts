/**
 * The CLI with `--backend podman` on real podman, as a user runs it (nothing but the state and
 * cache dirs in its environment: no CONTAINERS_CONF, no system file edited): the prompt and
 * skills land with their modes and owners, guest exit codes pass through, `rm` and a failed
 * launch leave nothing behind, and a missing image is refused without a pull.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, type TestContext } from 'vitest';
import { planContainersConf, podmanEnvironment } from '../../src/engines/podman/containers-conf.ts';

const setup = inject('podman');
const skipReason = setup.engine === 'ready' ? undefined : setup.reason;
const BIN = fileURLToPath(new URL('../../bin/claude-bottle.js', import.meta.url));
const run = randomBytes(3).toString('hex');
const slug = `pm-${run}`;

let dir = '';
let env: Record<string, string> = {};
let podmanEnv: Record<string, string> = {};

const cli = (args: string[], extra: Record<string, string> = {}) =>
  execa(process.execPath, [BIN, ...args], { env: { ...env, ...extra }, extendEnv: false, reject: false, timeout: 120_000 });
const podman = async (...args: string[]): Promise<string> => (await execa('podman', args, { env: { ...process.env, ...podmanEnv } })).stdout.trim();
/** What podman holds under this test's agent label: containers and networks. */
const labelled = async (): Promise<{ containers: string[]; networks: string[] }> => ({
  containers: (await podman('ps', '-a', '-q', '--filter', `label=claude-bottle.agent=${slug}`)).split('\n').filter(Boolean),
  networks: (await podman('network', 'ls', '-q', '--filter', `label=claude-bottle.agent=${slug}`)).split('\n').filter(Boolean),
});

const gate = (ctx: TestContext): boolean => {
  if (skipReason === undefined) return true;
  if (process.env.CI === 'true') throw new Error(`Podman tests must run in CI: ${skipReason}`);
  ctx.skip(skipReason);
  return false;
};

async function agentFile(file: string, extra: string[] = []): Promise<string> {
  const image = setup.engine === 'ready' ? setup.image : '';
  const path = join(dir, file);
  await writeFile(
    path,
    [
      `name: ${slug}`,
      `image: ${image}`,
      'prompt: You review code.',
      'skills: [code-review]',
      'skillsDir: ./skills',
      'user: { name: node, uid: 1000, gid: 1000, home: /home/node }',
      ...extra,
      '',
    ].join('\n'),
  );
  return path;
}

describe('the CLI on podman', { timeout: 180_000 }, () => {
  beforeAll(async () => {
    if (skipReason !== undefined) return;
    dir = await mkdtemp(join(tmpdir(), 'claude-bottle-podman-cli-'));
    await mkdir(join(dir, 'skills', 'code-review', 'scripts'), { recursive: true });
    await writeFile(join(dir, 'skills', 'code-review', 'SKILL.md'), '---\nname: code-review\ndescription: Reviews.\n---\n');
    await writeFile(join(dir, 'skills', 'code-review', 'scripts', 'check.sh'), '#!/bin/sh\necho check ok\n');
    await chmod(join(dir, 'skills', 'code-review', 'scripts', 'check.sh'), 0o755);
    env = { PATH: process.env.PATH ?? '', HOME: join(dir, 'home'), CLAUDE_BOTTLE_STATE_DIR: join(dir, 'state'), CLAUDE_BOTTLE_CACHE_DIR: join(dir, 'cache') };
    podmanEnv = (await podmanEnvironment(env)).env;
  });
  // A case that failed half-way must not leave its bottle to the next one: the CLI removes what it recorded, podman the rest.
  afterEach(async () => {
    if (!dir) return;
    for (const { name } of JSON.parse((await cli(['ls', '--json'])).stdout || '[]') as { name: string }[]) await cli(['rm', name]);
    const left = await labelled();
    for (const id of left.containers) await execa('podman', ['rm', '-f', id], { env: { ...process.env, ...podmanEnv }, reject: false });
    for (const id of left.networks) await execa('podman', ['network', 'rm', id], { env: { ...process.env, ...podmanEnv }, reject: false });
  }, 120_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('launch: the prompt and the skills land with their modes, owned by the agent user; exit codes pass through; rm leaves nothing', async (ctx) => {
    if (!gate(ctx)) return;
    const launched = await cli(['launch', await agentFile('agent.yaml'), '--backend', 'podman', '--json']);
    expect(launched.exitCode, launched.stderr).toBe(0);
    const { name, backend, promptPath } = JSON.parse(launched.stdout) as { name: string; backend: string; promptPath: string };
    expect([backend, promptPath]).toEqual(['podman', '/home/node/.claude-bottle-prompt.txt']);
    // Where this host needs it, claude-bottle's own containers.conf made that possible (doctor says so).
    const conf = await planContainersConf(env);
    if (conf.mode === 'claude-bottle') expect((await stat(conf.path)).mode & 0o777).toBe(0o600);

    const skills = '/home/node/.claude/skills/code-review';
    const stats = await cli(['exec', name, '--', 'stat', '-c', '%n %a %u %g', promptPath, skills, `${skills}/SKILL.md`, `${skills}/scripts/check.sh`]);
    expect(stats.stdout).toBe(
      `${promptPath} 600 1000 1000\n${skills} 755 1000 1000\n${skills}/SKILL.md 644 1000 1000\n${skills}/scripts/check.sh 755 1000 1000`,
    );
    expect((await cli(['exec', name, '--', 'cat', promptPath])).stdout).toBe('You review code.');
    expect((await cli(['exec', name, '--', `${skills}/scripts/check.sh`])).stdout).toBe('check ok');

    const failing = await cli(['exec', name, '--', 'sh', '-c', 'echo out; echo err >&2; exit 7']);
    expect([failing.exitCode, failing.stdout, failing.stderr]).toEqual([7, 'out', 'err']);
    expect((await cli(['exec', name, '--', `cb-no-such-binary-${run}`])).exitCode).toBe(127);
    expect((await cli(['exec', name, '--', 'id', '-u'])).stdout).toBe('1000');

    expect((await labelled()).containers).toHaveLength(1);
    const removed = await cli(['rm', name]);
    expect(removed.exitCode, removed.stderr).toBe(0);
    expect(await labelled()).toEqual({ containers: [], networks: [] });
    expect((await cli(['ls', '--json'])).stdout.trim()).toBe('[]');
    expect(await readdir(join(dir, 'state', 'bottles')).catch(() => [])).toEqual([]);
  });

  it('a missing image is refused without a pull, and the failed launch leaves nothing', async (ctx) => {
    if (!gate(ctx)) return;
    const image = `claude-bottle-test/never-built-${run}:1`;
    const file = join(dir, 'missing.yaml');
    await writeFile(file, `name: ${slug}\nimage: ${image}\nprompt: hi\n`);
    const result = await cli(['launch', file, '--backend', 'podman']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(`image ${image} is not present locally, and claude-bottle never pulls images`);
    expect(result.stderr).toContain(`podman pull ${image}`);
    expect(result.stderr).toMatch(/--pull never/);
    expect((await execa('podman', ['image', 'exists', image], { env: { ...process.env, ...podmanEnv }, reject: false })).exitCode).toBe(1);
    expect(await labelled()).toEqual({ containers: [], networks: [] });
    expect((await cli(['ls', '--json'])).stdout.trim()).toBe('[]');
  });

  it('a launch with host daemons that fails (a proxy that cannot start) leaves no container, network or bridge', async (ctx) => {
    if (!gate(ctx)) return;
    const broken = join(dir, 'broken-pipelock');
    await writeFile(broken, '#!/bin/sh\necho broken >&2\nexit 1\n', { mode: 0o755 });
    const bridgesBefore = await bridges();
    const result = await cli(['launch', await agentFile('egress.yaml', ['egress: { allowHosts: [example.com] }', 'supervise: {}']), '--backend', 'podman'], {
      PIPELOCK_BIN: broken,
    });
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toMatch(/bundle|pipelock/);
    expect(await labelled()).toEqual({ containers: [], networks: [] });
    expect(await bridges()).toEqual(bridgesBefore);
  });

  it('rm of a bottle whose launcher serves its daemons stops the launcher and removes the container, its network and bridge', async (ctx) => {
    if (!gate(ctx)) return;
    const bridgesBefore = await bridges();
    const child = spawn(process.execPath, [BIN, 'launch', await agentFile('daemons.yaml', ['supervise: {}']), '--backend', 'podman', '--json'], {
      env: { ...env, CLAUDE_BOTTLE_PROGRESS: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await serving(child);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const bottle = (JSON.parse((await cli(['ls', '--json'])).stdout) as { name: string; state: string; daemons?: string }[]).find((b) => b.daemons);
    expect(bottle?.state).toBe('running');
    expect((await labelled()).networks).toHaveLength(1);
    expect((await cli(['exec', bottle?.name ?? '', '--', 'sh', '-c', 'exit 5'])).exitCode).toBe(5);
    const removed = await cli(['rm', bottle?.name ?? '']);
    expect(removed.exitCode, removed.stderr).toBe(0);
    await exited;
    expect(child.exitCode).toBe(0);
    expect(await labelled()).toEqual({ containers: [], networks: [] });
    expect(await bridges()).toEqual(bridgesBefore);
  });
});

/** Host bridges named like podman's: a route's bridge must go with its network. */
async function bridges(): Promise<string[]> {
  return (await execa('ip', ['-o', 'link', 'show', 'type', 'bridge'])).stdout
    .split('\n')
    .map((line) => /^\d+: ([^:@]+)/.exec(line)?.[1] ?? '')
    .filter((name) => /^podman\d+$/.test(name))
    .sort();
}

function serving(child: ChildProcess): Promise<void> {
  let err = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "serving" within 120 s; stderr:\n${err}`)), 120_000);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      err += chunk;
      if (/serving /.test(err)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`launch exited ${code} before serving; stderr:\n${err}`));
    });
  });
}
