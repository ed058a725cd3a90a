/**
 * The CLI on real Docker, tried the way a careless user or a crash would: a launcher SIGKILLed
 * at every step of a launch with all three daemons (the git gate, supervise, pipelock) leaves
 * nothing `prune --orphans` cannot remove; a name that belongs to someone else's container is
 * refused and the container survives byte for byte; `rm` of a bottle whose launcher serves its
 * daemons stops the launcher and removes its network too. Nothing is pulled: the agent image is
 * local, and every network is `--internal`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, inject, it, type TestContext } from 'vitest';
import { chainName } from '../../src/engines/container/firewall.ts';
import { hostRepo } from '../../src/testing/doubles.ts';
import { fakePipelockBin } from '../../src/testing/pipelock.ts';

const docker = inject('docker');
const agentImage = inject('agentImage');
const skipReason = docker.engine !== 'ready' ? docker.reason : agentImage.state !== 'ready' ? `agent image: ${agentImage.reason}` : undefined;
const BIN = fileURLToPath(new URL('../../bin/claude-bottle.js', import.meta.url));
const run = randomBytes(3).toString('hex');
const slug = `kill-${run}`;

let dir = '';
let env: Record<string, string> = {};

const cli = (args: string[]) => execa(process.execPath, [BIN, ...args], { env, extendEnv: false, reject: false });
const dockerOut = async (...args: string[]): Promise<string> => (await execa('docker', args)).stdout.trim();
const labelled = async (kind: 'ps -a' | 'network ls'): Promise<string[]> =>
  (await dockerOut(...kind.split(' '), '-q', '--filter', `label=claude-bottle.agent=${slug}`)).split('\n').filter(Boolean);
/** Processes whose command line names this test's state dir: the tethered pipelock among them. */
async function processesUnder(path: string): Promise<string[]> {
  const out: string[] = [];
  for (const pid of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid)) continue;
    const cmdline = await import('node:fs/promises').then((fs) => fs.readFile(`/proc/${pid}/cmdline`, 'utf8')).catch(() => '');
    if (cmdline.includes(path)) out.push(`${pid} ${cmdline.replaceAll('\0', ' ').trim()}`);
  }
  return out;
}
async function eventually<T>(read: () => Promise<T>, ok: (value: T) => boolean, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  let value = await read();
  while (!ok(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    value = await read();
  }
  return value;
}

/** The host's rules naming chain `chain` (its own and the jumps to it), as `iptables -S` prints them. */
const rulesOf = async (chain: string): Promise<string[]> =>
  (await execa('iptables', ['-w', '-S'])).stdout.split('\n').filter((l) => l.startsWith(`-A ${chain} `) || l.endsWith(` -j ${chain}`));
/** The launch id in the test's one bottle record. */
async function recordedLaunchId(state: string): Promise<string> {
  const [record] = (await readdir(join(state, 'bottles'))).filter((f) => f.endsWith('.json'));
  return (JSON.parse(await readFile(join(state, 'bottles', record ?? ''), 'utf8')) as { launchId: string }).launchId;
}

/** Starts `launch` in the foreground and resolves once its stderr shows `marker`, with the process. */
function launchUntil(marker: RegExp, extra: string[] = []): Promise<{ child: ChildProcess; stderr: () => string }> {
  const child = spawn(process.execPath, [BIN, 'launch', join(dir, 'agent.yaml'), '--backend', 'docker', ...extra], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${marker} within 120 s; stderr:\n${err}`)), 120_000);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      err += chunk;
      if (marker.test(err)) {
        clearTimeout(timer);
        resolve({ child, stderr: () => err });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (!marker.test(err)) reject(new Error(`launch exited ${code} before ${marker}; stderr:\n${err}`));
    });
  });
}

const gate = (ctx: TestContext): boolean => {
  if (skipReason === undefined) return true;
  if (process.env.CI === 'true') throw new Error(`Docker tests must run in CI: ${skipReason}`);
  ctx.skip(skipReason);
  return false;
};

describe('the CLI on Docker: killed launchers, foreign names, rm', () => {
  beforeAll(async () => {
    if (skipReason !== undefined || agentImage.state !== 'ready') return;
    dir = await mkdtemp(join(tmpdir(), 'claude-bottle-kill-'));
    const repo = join(dir, 'repo');
    await hostRepo(repo);
    await writeFile(
      join(dir, 'agent.yaml'),
      [
        `name: ${slug}`,
        `image: ${agentImage.image}`,
        'prompt: hi',
        `git: { repo: ${repo} }`,
        'supervise: {}',
        'egress: { allowHosts: [example.com] }',
        '',
      ].join('\n'),
    );
    env = {
      PATH: process.env.PATH ?? '',
      HOME: join(dir, 'home'),
      CLAUDE_BOTTLE_STATE_DIR: join(dir, 'state'),
      PIPELOCK_BIN: fakePipelockBin(),
      CLAUDE_BOTTLE_PROGRESS: '1',
    };
  });
  afterAll(async () => {
    if (!dir) return;
    for (const id of [...(await labelled('ps -a')), ...(await labelled('network ls'))]) {
      await execa('docker', ['rm', '-f', id], { reject: false });
      await execa('docker', ['network', 'rm', id], { reject: false });
    }
    await rm(dir, { recursive: true, force: true });
  });

  const steps = ['route', 'bundle', 'create', 'start', 'probe', 'provision-files', 'provision-git', 'provision-supervise', 'serving'];
  for (const step of steps) {
    it(`SIGKILL at ${step}: ls says so, and prune --orphans removes every container, network, record, file and daemon`, async (ctx) => {
      if (!gate(ctx)) return;
      const state = join(dir, 'state');
      const { child } = await launchUntil(step === 'serving' ? /serving / : new RegExp(`^${step} `, 'm'));
      const chain = step === 'serving' ? chainName(await recordedLaunchId(state)) : '';
      if (step === 'serving') expect((await rulesOf(chain)).filter((l) => l.endsWith(' -j ACCEPT')).length, 'no port open while serving').toBeGreaterThan(0);
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));

      if (step === 'serving') {
        // Its route guard closes the dead daemons' ports: the orphan reaches nothing on the host,
        // not even a host process that later listens there. The jumps and the REJECT stay.
        const left = await eventually(
          () => rulesOf(chain),
          (rules) => !rules.some((l) => l.endsWith(' -j ACCEPT')),
        );
        expect(
          left.filter((l) => l.endsWith(' -j ACCEPT')),
          'ports still open to the orphan',
        ).toEqual([]);
        expect(left.filter((l) => l.startsWith(`-A ${chain} `) && / -j REJECT( |$)/.test(l))).toHaveLength(1);
        expect(left.filter((l) => l.startsWith(`-A ${chain} `) && l.includes(' -i lo ') && l.endsWith(' -j RETURN'))).toHaveLength(1);
        // One jump for the bridge, one per daemon port (the git gate, supervise, pipelock).
        expect(left.filter((l) => l.endsWith(` -j ${chain}`)).length).toBeGreaterThanOrEqual(4);
      }

      // The tethered pipelock dies with its launcher.
      expect(
        await eventually(
          () => processesUnder(state),
          (p) => p.length === 0,
        ),
      ).toEqual([]);
      const ls = JSON.parse((await cli(['ls', '--json'])).stdout) as { name: string; state: string }[];
      expect(ls).toHaveLength(1);
      expect(ls[0]?.state).toBe(step === 'serving' ? 'orphaned' : 'crashed');
      // A half-made bottle is refused; an orphaned one still runs commands (its daemons are gone, not its machine).
      expect((await cli(['exec', ls[0]?.name ?? '', '--', 'true'])).exitCode).toBe(step === 'serving' ? 0 : 125);

      // Scoped to this test's agent: other work on this Docker host is not ours to prune.
      const pruned = await cli(['prune', '--backend', 'docker', '--orphans', '--agent', slug, '--json']);
      expect(pruned.exitCode, pruned.stderr).toBe(0);
      expect(await labelled('ps -a'), 'containers left').toEqual([]);
      expect(await labelled('network ls'), 'networks left').toEqual([]);
      expect(await readdir(join(state, 'bottles')).catch(() => []), 'records and run dirs left').toEqual([]);
      expect(await readdir(join(state, 'run')).catch(() => []), 'launcher sockets left').toEqual([]);
      expect((await cli(['ls', '--json'])).stdout.trim()).toBe('[]');
      if (step === 'serving') expect(await rulesOf(chain), 'firewall rules left').toEqual([]);
    });
  }

  it("launch --name <someone else's container> is refused (exit 3) and the container survives byte for byte", async (ctx) => {
    if (!gate(ctx)) return;
    const name = `foreign-${run}`;
    await execa('docker', [
      'create',
      '--pull',
      'never',
      '--name',
      name,
      '--label',
      `test.run=${run}`,
      docker.engine === 'ready' ? docker.image : '',
      'sleep',
      '1000',
    ]);
    try {
      const before = await dockerOut('container', 'inspect', name);
      // Every way: the name check, a missing image, a daemon that cannot start.
      const broken = join(dir, 'broken-pipelock');
      await writeFile(broken, '#!/bin/sh\nexit 1\n', { mode: 0o755 });
      for (const extraEnv of [{}, { PIPELOCK_BIN: broken }]) {
        const result = await execa(process.execPath, [BIN, 'launch', join(dir, 'agent.yaml'), '--backend', 'docker', '--name', name], {
          env: { ...env, ...extraEnv },
          extendEnv: false,
          reject: false,
        });
        expect(result.exitCode, result.stderr).toBe(3);
        expect(result.stderr).toContain(`"${name}"`);
      }
      expect(await dockerOut('container', 'inspect', name)).toBe(before);
      expect(await labelled('network ls')).toEqual([]);
    } finally {
      await execa('docker', ['rm', '-f', name], { reject: false });
    }
  });

  it('rm of a bottle whose launcher serves its daemons stops the launcher and removes the container and its network', async (ctx) => {
    if (!gate(ctx)) return;
    const { child } = await launchUntil(/serving /, ['--json']);
    const exited = new Promise((r) => child.once('exit', r));
    const [bottle] = JSON.parse((await cli(['ls', '--json'])).stdout) as { name: string; state: string }[];
    expect(bottle?.state).toBe('running');
    expect(await labelled('network ls')).toHaveLength(1);
    const removed = await cli(['rm', bottle?.name ?? '', '--json']);
    expect(removed.exitCode, removed.stderr).toBe(0);
    await exited;
    expect(child.exitCode).toBe(0);
    expect(await labelled('ps -a')).toEqual([]);
    expect(await labelled('network ls')).toEqual([]);
    expect(await processesUnder(join(dir, 'state'))).toEqual([]);
    expect(await readdir(join(dir, 'state', 'bottles')).catch(() => [])).toEqual([]);
  });
});
