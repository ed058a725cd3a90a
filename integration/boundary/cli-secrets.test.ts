/**
 * The CLI keeps a bottle's credentials to the guest's 0600 files: `launch --json` (and its
 * progress on stderr), `ls --json`, the record and plan files in the state dir, and every host
 * process's argv stay free of them, while the guest's git and MCP config hold them (0600, the
 * agent user). On real Docker with the agent image, all three daemons (pipelock: the test double).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { hostRepo } from '../../src/testing/doubles.ts';
import { fakePipelockBin } from '../../src/testing/pipelock.ts';

const docker = inject('docker');
const agentImage = inject('agentImage');
const skipReason = docker.engine !== 'ready' ? docker.reason : agentImage.state !== 'ready' ? `agent image: ${agentImage.reason}` : undefined;
const BIN = fileURLToPath(new URL('../../bin/claude-bottle.js', import.meta.url));
const run = randomBytes(3).toString('hex');

/** Every file under `dir`, as text. */
async function allFiles(dir: string): Promise<{ path: string; text: string }[]> {
  const out: { path: string; text: string }[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out.push({ path, text: await readFile(path, 'utf8').catch(() => '') });
  }
  return out;
}

describe("the CLI never shows a bottle's credentials", () => {
  let dir = '';
  let child: ChildProcess | undefined;
  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGTERM');
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('launch --json, its progress, ls --json, the state dir and the process list hold no credential; the guest files do (0600)', async (ctx) => {
    if (skipReason !== undefined) {
      if (process.env.CI === 'true') throw new Error(`Docker tests must run in CI: ${skipReason}`);
      return ctx.skip(skipReason);
    }
    dir = await mkdtemp(join(tmpdir(), 'claude-bottle-cli-secrets-'));
    const repo = join(dir, 'repo');
    await hostRepo(repo);
    const image = agentImage.state === 'ready' ? agentImage.image : '';
    await writeFile(
      join(dir, 'agent.yaml'),
      [`name: sec-${run}`, `image: ${image}`, `git: { repo: ${repo} }`, 'supervise: {}', 'egress: { allowHosts: [example.com] }', ''].join('\n'),
    );
    const state = join(dir, 'state');
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: join(dir, 'home'),
      CLAUDE_BOTTLE_STATE_DIR: state,
      PIPELOCK_BIN: fakePipelockBin(),
      CLAUDE_BOTTLE_PROGRESS: '1',
    };

    let stdout = '';
    let stderr = '';
    const started = spawn(process.execPath, [BIN, 'launch', join(dir, 'agent.yaml'), '--backend', 'docker', '--json'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = started;
    started.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
    started.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (/serving /.test(stderr)) {
          clearInterval(timer);
          resolve();
        }
      }, 100);
      started.once('exit', (code) => {
        clearInterval(timer);
        reject(new Error(`launch exited ${code}: ${stderr}`));
      });
    });
    const launched = JSON.parse(stdout) as { name: string; launchId: string };
    const cli = (...args: string[]) => execa(process.execPath, [BIN, ...args], { env, extendEnv: false, reject: false });

    const home = '/home/node';
    const gitConf = await cli('exec', launched.name, '--', 'sh', '-c', `stat -c '%a %U' "$1"; cat "$1"`, 'sh', `${home}/.claude-bottle-git.conf`);
    const mcp = await cli('exec', launched.name, '--', 'sh', '-c', `stat -c '%a %U' "$1"; cat "$1"`, 'sh', `${home}/.claude-bottle-mcp.json`);
    expect(gitConf.stdout.split('\n')[0]).toBe('600 node');
    expect(mcp.stdout.split('\n')[0]).toBe('600 node');
    const secrets = [/Bearer (\S+)/.exec(gitConf.stdout)?.[1] ?? '', /"Bearer ([^"]+)"/.exec(mcp.stdout)?.[1] ?? ''];
    expect(secrets.every((s) => /^[A-Za-z0-9_-]{43}$/.test(s))).toBe(true);

    const ls = await cli('ls', '--json');
    const shown = { launchJson: stdout, progress: stderr, lsJson: ls.stdout, lsErr: ls.stderr };
    for (const [where, text] of Object.entries(shown)) for (const s of secrets) expect(text, where).not.toContain(s);
    // The state dir: record, plan, logs, pipelock config. (The MCP config's host copy is the one file that holds one.)
    for (const file of await allFiles(state)) {
      if (file.path.endsWith('mcp-config.json')) {
        expect(((await stat(file.path)).mode & 0o777).toString(8), file.path).toBe('600');
        continue;
      }
      for (const s of secrets) expect(file.text, file.path).not.toContain(s);
    }
    for (const pid of await readdir('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      for (const s of secrets) expect(cmdline, `process ${pid}`).not.toContain(s);
    }

    const removed = await cli('rm', launched.name, '--json');
    expect(removed.exitCode, removed.stderr).toBe(0);
    await new Promise((r) => (started.exitCode !== null ? r(undefined) : started.once('exit', r)));
    expect((await execa('iptables', ['-w', '-S'])).stdout).not.toContain(`CB-${launched.launchId}`);
  });
});
