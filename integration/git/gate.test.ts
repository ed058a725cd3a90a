/**
 * The git gate end to end, with real git on both sides: a bottle from the agent image on an
 * `--internal` Docker network this file creates, the gate listening on that network's gateway
 * (the only host the guest can reach), `launch` cloning the host repository through it, then the
 * guest's own `git push`: into its prefix (lands in the host repository), and to main, with
 * --force and as a deletion (each refused, the reason in git's output, the host unchanged).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it, type TestContext } from 'vitest';
import { parseAgentSpec } from '../../src/agent/spec.ts';
import { launch, type LaunchStep } from '../../src/bottle/launch.ts';
import { DockerEngine } from '../../src/engines/docker/engine.ts';
import { startGitGate } from '../../src/daemons/gitgate/server.ts';
import { prepare } from '../../src/plan/prepare.ts';
import { gitEnv, gitOk, hostGit, hostRepo } from '../../src/testing/doubles.ts';
import { recordCalls } from '../../src/testing/engine-contract.ts';
import { createProcessTransport } from '../../src/transport/process.ts';

const setup = inject('agentImage');
const inCI = process.env.CI === 'true';
const skipReason = setup.state === 'ready' ? undefined : setup.reason;
const run = randomBytes(3).toString('hex');
const ONLINE = { enabled: true, allowHosts: [], allowCidrs: [] } as const;
const { transport } = recordCalls(createProcessTransport());

async function docker(...args: string[]): Promise<string> {
  const result = await transport.run(['docker', ...args]);
  if (result.exitCode !== 0) throw new Error(`docker ${args.join(' ')}: ${result.stderr}`);
  return result.stdout.trim();
}

let network: { name: string; gateway: string } | undefined;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'claude-bottle-git-gate-'));
  if (skipReason !== undefined) return;
  const name = `cbg-${run}`;
  await docker('network', 'create', '--internal', '--label', `claude-bottle.git-test=${run}`, name);
  network = { name, gateway: await docker('network', 'inspect', '--format', '{{(index .IPAM.Config 0).Gateway}}', name) };
});
afterAll(async () => {
  if (network) {
    const left = (await transport.run(['docker', 'ps', '-aq', '--filter', `network=${network.name}`])).stdout.split('\n').filter(Boolean);
    if (left.length) await transport.run(['docker', 'rm', '-f', ...left]);
    await transport.run(['docker', 'network', 'rm', network.name]);
  }
  await rm(dir, { recursive: true, force: true });
});

describe('git gate availability', () => {
  it('a Docker engine answers and the agent image is built', (ctx) => {
    if (setup.state === 'ready') return;
    if (inCI) throw new Error(`git gate tests must run in CI: ${setup.reason}`);
    ctx.skip(setup.reason);
  });
});

describe('a bottle working on a host repository through the git gate', () => {
  it('clones through the gate; pushes into its prefix land; main, --force and deletion are refused with the reason', async (ctx: TestContext) => {
    if (skipReason !== undefined || setup.state !== 'ready' || !network) return ctx.skip(skipReason ?? 'no test network');
    expect(network.gateway).toMatch(/^\d+\.\d+\.\d+\.\d+$/);

    const repo = join(dir, 'project');
    await hostRepo(repo, { 'README.md': '# project\n' });
    const hostRefs = () => hostGit(repo, 'for-each-ref', '--format=%(objectname) %(refname)');

    const plan = await prepare(parseAgentSpec({ name: 'gitter', image: setup.image, git: { repo, email: 'gitter@example.invalid' } }), {
      env: { ...process.env, CLAUDE_BOTTLE_STATE_DIR: join(dir, 'state') },
    });
    expect(plan.git).toMatchObject({ prefix: 'bottle/gitter/', branch: 'bottle/gitter/work', workspace: '/home/node/workspace' });
    const git = plan.git;
    if (!git) throw new Error('no git plan');

    await using gate = await startGitGate({ repo: git.repo, prefix: git.prefix, host: network.gateway });
    const engine = new DockerEngine({ transport, network: network.name });
    const steps: LaunchStep[] = [];
    await using bottle = await launch(plan, { engine, network: ONLINE, gitGate: gate, onStep: (s) => steps.push(s) });
    expect(steps.at(-1)).toBe('provision-git');

    const inWorkspace = (script: string) => bottle.exec(['sh', '-c', `cd /home/node/workspace && ${script}`], { env: { GIT_TERMINAL_PROMPT: '0' } });
    const state = await inWorkspace(
      'git rev-parse --abbrev-ref HEAD; git remote get-url origin; git config user.name; git config user.email; git log --format=%s; stat -c %U .',
    );
    expect(state, state.stderr).toMatchObject({ exitCode: 0 });
    expect(state.stdout).toBe(`bottle/gitter/work\n${gate.url}\ngitter\ngitter@example.invalid\nhost commit\nnode\n`);

    // An allowed push: a commit by the agent's identity lands in the host repository.
    const pushed = await inWorkspace(
      'echo change > change.txt && git add change.txt && git commit -q -m "agent commit" && git push -q origin HEAD:bottle/gitter/x && git rev-parse HEAD',
    );
    expect(pushed, pushed.stderr).toMatchObject({ exitCode: 0 });
    const agentHead = pushed.stdout.trim();
    expect((await hostGit(repo, 'rev-parse', 'refs/heads/bottle/gitter/x')).trim()).toBe(agentHead);
    expect(await gitOk(repo, ['log', '-1', '--format=%an <%ae> %s', 'bottle/gitter/x'], { env: gitEnv({ name: 'host' }) })).toBe(
      'gitter <gitter@example.invalid> agent commit\n',
    );
    // A plain `git push` on the work branch sets its upstream and lands inside the prefix.
    const plain = await inWorkspace('git push');
    expect(plain, plain.stderr).toMatchObject({ exitCode: 0 });
    expect((await hostGit(repo, 'rev-parse', 'refs/heads/bottle/gitter/work')).trim()).toBe(agentHead);

    const before = await hostRefs();
    const toMain = await inWorkspace('git push origin HEAD:main');
    expect(toMain.exitCode).not.toBe(0);
    expect(toMain.stderr).toContain('! [remote rejected] HEAD -> main (claude-bottle git gate: only branches bottle/gitter/* may be pushed)');

    const forced = await inWorkspace('git commit -q --amend -m rewritten && git push --force origin HEAD:bottle/gitter/x');
    expect(forced.exitCode).not.toBe(0);
    expect(forced.stderr).toContain('! [remote rejected] HEAD -> bottle/gitter/x (non-fast-forward)');
    expect(forced.stderr).toContain('remote: error: denying non-fast-forward refs/heads/bottle/gitter/x');

    const deleted = await inWorkspace('git push origin --delete bottle/gitter/x');
    expect(deleted.exitCode).not.toBe(0);
    expect(deleted.stderr).toContain('! [remote rejected] bottle/gitter/x (claude-bottle git gate: deleting refs is not allowed)');

    expect(await hostRefs()).toBe(before);
    expect(gate.pushes.map((p) => [p.decidedBy, p.accepted])).toEqual([
      ['receive-pack', true],
      ['receive-pack', true],
      ['gate', false],
      ['receive-pack', false],
      ['gate', false],
    ]);
    expect(gate.pushes.every((p) => p.remoteAddress !== undefined && p.remoteAddress !== network?.gateway)).toBe(true);
    console.log(['[git-gate] what the guest saw:', toMain.stderr, forced.stderr, deleted.stderr].join('\n'));
  });
});
