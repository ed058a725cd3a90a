/**
 * Forks through the CLI on real Docker: launch --forks makes the golden and its forks, each a
 * recorded bottle; rm of the golden is refused while they live; rm --cascade removes them all,
 * and the image the forks were committed from goes with the last of them. An image whose clones
 * vanished behind claude-bottle's back (a crash) is found by prune.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, inject, it, type TestContext } from 'vitest';

const docker = inject('docker');
const BIN = fileURLToPath(new URL('../../bin/claude-bottle.js', import.meta.url));
const run = randomBytes(3).toString('hex');
const slug = `forks-${run}`;
let dir = '';
let env: Record<string, string> = {};

const cli = (args: string[]) => execa(process.execPath, [BIN, ...args], { env, extendEnv: false, reject: false });
const ids = async (...args: string[]): Promise<string[]> => (await execa('docker', args)).stdout.split('\n').filter(Boolean);
const containers = () => ids('ps', '-a', '-q', '--filter', `label=claude-bottle.agent=${slug}`);
const images = () => ids('image', 'ls', '-q', '--filter', `label=claude-bottle.agent=${slug}`);

const gate = (ctx: TestContext): boolean => {
  if (docker.engine === 'ready') return true;
  if (process.env.CI === 'true') throw new Error(`Docker tests must run in CI: ${docker.reason}`);
  ctx.skip(docker.reason);
  return false;
};

describe('forks through the CLI on Docker', () => {
  beforeAll(async () => {
    if (docker.engine !== 'ready') return;
    dir = await mkdtemp(join(tmpdir(), 'claude-bottle-forks-'));
    await writeFile(join(dir, 'agent.yaml'), `name: ${slug}\nimage: ${docker.image}\nprompt: golden prompt ${run}\n`);
    env = { PATH: process.env.PATH ?? '', HOME: join(dir, 'home'), CLAUDE_BOTTLE_STATE_DIR: join(dir, 'state') };
  });
  afterAll(async () => {
    if (!dir) return;
    for (const id of await containers()) await execa('docker', ['rm', '-f', id], { reject: false });
    for (const id of await images()) await execa('docker', ['image', 'rm', '-f', id], { reject: false });
    await rm(dir, { recursive: true, force: true });
  });

  it('launch --forks 2: three recorded bottles, the forks from one committed image; rm refused, then --cascade leaves nothing', async (ctx) => {
    if (!gate(ctx)) return;
    const launched = await cli(['launch', join(dir, 'agent.yaml'), '--backend', 'docker', '--forks', '2', '--json']);
    expect(launched.exitCode, launched.stderr).toBe(0);
    const golden = (JSON.parse(launched.stdout) as { name: string }).name;
    expect(await containers()).toHaveLength(3);
    expect(await images()).toHaveLength(1);
    for (const fork of [`${golden}-f1`, `${golden}-f2`]) {
      const prompt = await cli(['exec', fork, '--', 'cat', '/root/.claude-bottle-prompt.txt']);
      expect(prompt.stdout, fork).toBe(`golden prompt ${run}`);
    }
    // A fork's write stays in that fork.
    expect((await cli(['exec', `${golden}-f1`, '--', 'sh', '-c', 'echo f1 > /root/note'])).exitCode).toBe(0);
    expect((await cli(['exec', `${golden}-f2`, '--', 'cat', '/root/note'])).exitCode).not.toBe(0);
    expect((await cli(['exec', golden, '--', 'cat', '/root/note'])).exitCode).not.toBe(0);

    const refused = await cli(['rm', golden]);
    expect(refused.exitCode).toBe(1);
    expect(await containers()).toHaveLength(3);
    expect((await cli(['rm', '--cascade', golden])).exitCode).toBe(0);
    expect(await containers()).toEqual([]);
    expect(await images()).toEqual([]);
  });

  it('prune removes a fork image whose clones vanished behind its back', async (ctx) => {
    if (!gate(ctx)) return;
    const launched = await cli(['launch', join(dir, 'agent.yaml'), '--backend', 'docker', '--forks', '1', '--json']);
    expect(launched.exitCode, launched.stderr).toBe(0);
    const golden = (JSON.parse(launched.stdout) as { name: string }).name;
    // A crash: the fork's container goes, claude-bottle is not told.
    await execa('docker', ['rm', '-f', `${golden}-f1`]);
    expect(await images()).toHaveLength(1);
    const pruned = await cli(['prune', '--backend', 'docker', '--agent', slug, '--json']);
    expect(pruned.exitCode, pruned.stderr).toBe(0);
    expect(JSON.parse(pruned.stdout) as { removedForkBases: string[]; droppedRecords: string[] }).toMatchObject({
      droppedRecords: [`${golden}-f1`],
      removedForkBases: [expect.stringMatching(/^image [0-9a-f]{12}$/)],
    });
    expect(await images()).toEqual([]);
    expect((await cli(['rm', golden])).exitCode).toBe(0);
    expect(await containers()).toEqual([]);
  });
});
