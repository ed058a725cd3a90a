/**
 * The git gate with real git on both sides: a temp host repository, the gate on 127.0.0.1, and
 * clones pushing through it. Every refusal must reach `git push`'s stderr and leave the host's
 * refs exactly as they were. (Each case runs many git processes, so it lives here rather than in
 * the unit project; src/daemons/gitgate/server.test.ts covers the gate's HTTP with raw requests.)
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type GitGate, startGitGate } from '../../src/daemons/gitgate/server.ts';
import { type GitResult, gitEnv, gitOk, hostRepo, git as runGit } from '../../src/testing/doubles.ts';

const PREFIX = 'bottle/reviewer/';
/** The bottle's credential; the test's git sends it as the guest's config does. */
const TOKEN = 'test-token-0123456789';
const ENV = gitEnv({ token: TOKEN });

const git = (cwd: string, ...args: string[]): Promise<GitResult> => runGit(cwd, args, { env: ENV });
const ok = (cwd: string, ...args: string[]): Promise<string> => gitOk(cwd, args, { env: ENV });

let work: string;
let host: string;
let gate: GitGate;

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'claude-bottle-gitgate-'));
  host = join(work, 'host');
  await hostRepo(host, { README: 'hello\n' });
  await ok(host, 'branch', `${PREFIX}existing`);
  gate = await startGitGate({ repo: host, prefix: PREFIX, token: TOKEN });
});

afterEach(async () => {
  await gate.close();
  await rm(work, { recursive: true, force: true });
});

const hostRefs = () => ok(host, 'for-each-ref', '--format=%(objectname) %(refname)');

/** A clone through the gate with one new commit on HEAD. */
async function cloneWithCommit(name = `c-${randomBytes(3).toString('hex')}`, file = 'change.txt', content = `${name}\n`): Promise<string> {
  const dir = join(work, name);
  await ok(work, 'clone', '-q', gate.url, dir);
  await writeFile(join(dir, file), content);
  await ok(dir, 'add', file);
  await ok(dir, 'commit', '-q', '-m', `commit in ${name}`);
  return dir;
}

describe('the git gate, with git on both sides', () => {
  it('serves a clone and a fetch of the whole repository', async () => {
    expect(gate.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/repo\.git$/);
    const dir = join(work, 'clone');
    await ok(work, 'clone', '-q', gate.url, dir);
    expect(await ok(dir, 'log', '--format=%s')).toBe('host commit\n');
    expect((await ok(dir, 'branch', '-r')).split('\n').map((l) => l.trim())).toContain(`origin/${PREFIX}existing`);
    await writeFile(join(host, 'README'), 'changed\n');
    await ok(host, 'commit', '-q', '-am', 'second');
    await ok(dir, 'pull', '-q', '--ff-only');
    expect(await ok(dir, 'log', '--format=%s')).toBe('second\nhost commit\n');
    expect(gate.pushes).toEqual([]);
  });

  it('streams a large pack to a clone, and takes a large push', async () => {
    const big = randomBytes(6 * 1024 * 1024);
    await writeFile(join(host, 'big.bin'), big);
    await ok(host, 'add', 'big.bin');
    await ok(host, 'commit', '-q', '-m', 'big');
    const dir = await cloneWithCommit('large', 'big2.bin', randomBytes(3 * 1024 * 1024).toString('hex'));
    expect(await ok(dir, 'hash-object', 'big.bin')).toBe(await ok(host, 'hash-object', 'big.bin'));
    expect(await git(dir, 'push', 'origin', `HEAD:${PREFIX}large`)).toMatchObject({ code: 0 });
    expect((await ok(host, 'rev-parse', `${PREFIX}large`)).trim()).toBe((await ok(dir, 'rev-parse', 'HEAD')).trim());
  });

  it('an allowed push lands in the host repository: a new branch under the prefix, then a fast-forward', async () => {
    const dir = await cloneWithCommit('allowed');
    const pushed = await git(dir, 'push', 'origin', `HEAD:${PREFIX}feature`);
    expect(pushed, pushed.stderr).toMatchObject({ code: 0 });
    expect(pushed.stderr).toContain(`* [new branch]      HEAD -> ${PREFIX}feature`);
    const head = (await ok(dir, 'rev-parse', 'HEAD')).trim();
    expect((await ok(host, 'rev-parse', `refs/heads/${PREFIX}feature`)).trim()).toBe(head);
    expect(await ok(host, 'log', '--format=%s', `${PREFIX}feature`)).toBe('commit in allowed\nhost commit\n');

    await writeFile(join(dir, 'more.txt'), 'more\n');
    await ok(dir, 'add', 'more.txt');
    await ok(dir, 'commit', '-q', '-m', 'more');
    expect(await git(dir, 'push', 'origin', `HEAD:${PREFIX}feature`)).toMatchObject({ code: 0 });
    expect((await ok(host, 'rev-parse', `${PREFIX}feature`)).trim()).toBe((await ok(dir, 'rev-parse', 'HEAD')).trim());
    expect(gate.pushes.map((p) => [p.decidedBy, p.accepted, p.results])).toEqual([
      ['receive-pack', true, [{ ref: `refs/heads/${PREFIX}feature`, ok: true }]],
      ['receive-pack', true, [{ ref: `refs/heads/${PREFIX}feature`, ok: true }]],
    ]);
  });

  it('refuses a branch outside the prefix, with the reason in git push output; the host refs are unchanged', async () => {
    const dir = await cloneWithCommit('outside');
    const before = await hostRefs();
    for (const target of ['main', 'other/feature', `${PREFIX.slice(0, -1)}`, `bottle/someone-else/x`]) {
      const pushed = await git(dir, 'push', 'origin', `HEAD:${target}`);
      expect(pushed.code).not.toBe(0);
      expect(pushed.stderr).toContain(`! [remote rejected] HEAD -> ${target} (claude-bottle git gate: only branches ${PREFIX}* may be pushed)`);
      expect(pushed.stderr).toContain(`remote: error: refs/heads/${target}: claude-bottle git gate: only branches ${PREFIX}* may be pushed`);
    }
    await ok(dir, 'tag', 'v1');
    const tag = await git(dir, 'push', 'origin', 'v1');
    expect(tag.stderr).toContain('! [remote rejected] v1 -> v1 (claude-bottle git gate: only branches');
    expect(await hostRefs()).toBe(before);
    expect(gate.pushes.every((p) => p.decidedBy === 'gate' && !p.accepted)).toBe(true);
    expect(gate.pushes).toHaveLength(5);
  });

  it('refuses a force push (non-fast-forward) under the prefix; the host ref keeps its commit', async () => {
    const dir = await cloneWithCommit('force');
    expect(await git(dir, 'push', 'origin', `HEAD:${PREFIX}f`)).toMatchObject({ code: 0 });
    await ok(dir, 'commit', '-q', '--amend', '-m', 'rewritten');
    const before = await hostRefs();
    const forced = await git(dir, 'push', '--force', 'origin', `HEAD:${PREFIX}f`);
    expect(forced.code).not.toBe(0);
    expect(forced.stderr).toContain(`! [remote rejected] HEAD -> ${PREFIX}f (non-fast-forward)`);
    expect(forced.stderr).toContain(`remote: error: denying non-fast-forward refs/heads/${PREFIX}f`);
    // A plus-refspec is the same thing.
    expect((await git(dir, 'push', 'origin', `+HEAD:${PREFIX}f`)).stderr).toContain('(non-fast-forward)');
    // So is replacing a branch the host created with unrelated history.
    await ok(dir, 'checkout', '-q', '--orphan', 'unrelated');
    await ok(dir, 'commit', '-q', '-m', 'unrelated');
    expect((await git(dir, 'push', '--force', 'origin', `HEAD:${PREFIX}existing`)).stderr).toContain(
      `! [remote rejected] HEAD -> ${PREFIX}existing (non-fast-forward)`,
    );
    expect(await hostRefs()).toBe(before);
    expect(gate.pushes.at(-1)).toMatchObject({
      decidedBy: 'receive-pack',
      accepted: false,
      results: [{ ref: `refs/heads/${PREFIX}existing`, ok: false, reason: 'non-fast-forward' }],
    });
  });

  it('refuses a deletion, inside the prefix and outside it', async () => {
    const dir = await cloneWithCommit('delete');
    expect(await git(dir, 'push', 'origin', `HEAD:${PREFIX}gone`)).toMatchObject({ code: 0 });
    const before = await hostRefs();
    for (const args of [
      ['push', 'origin', `:${PREFIX}gone`],
      ['push', 'origin', '--delete', `${PREFIX}existing`],
      ['push', 'origin', '--delete', 'main'],
    ]) {
      const deleted = await git(dir, ...args);
      expect(deleted.code).not.toBe(0);
      expect(deleted.stderr).toMatch(/! \[remote rejected\] \S+ \(claude-bottle git gate: deleting refs is not allowed\)/);
    }
    expect(await hostRefs()).toBe(before);
  });

  it('refuses a whole push when one of its refs is refused', async () => {
    const dir = await cloneWithCommit('mixed');
    const before = await hostRefs();
    const mixed = await git(dir, 'push', 'origin', `HEAD:${PREFIX}ok`, 'HEAD:main');
    expect(mixed.code).not.toBe(0);
    expect(mixed.stderr).toContain(`! [remote rejected] HEAD -> ${PREFIX}ok (claude-bottle git gate: not pushed, another ref in this push was refused)`);
    expect(mixed.stderr).toContain('! [remote rejected] HEAD -> main (claude-bottle git gate: only branches');
    expect(await hostRefs()).toBe(before);
  });

  it('takes concurrent pushes: distinct branches all land; two creating the same branch, exactly one wins', async () => {
    const dirs = await Promise.all(Array.from({ length: 6 }, (_, i) => cloneWithCommit(`par-${i}`)));
    const results = await Promise.all(dirs.map((dir, i) => git(dir, 'push', 'origin', `HEAD:${PREFIX}par-${i}`)));
    expect(results.map((r) => r.code)).toEqual(Array(6).fill(0));
    for (const [i, dir] of dirs.entries()) {
      expect((await ok(host, 'rev-parse', `${PREFIX}par-${i}`)).trim()).toBe((await ok(dir, 'rev-parse', 'HEAD')).trim());
    }
    const racers = await Promise.all([cloneWithCommit('race-a'), cloneWithCommit('race-b')]);
    const race = await Promise.all(racers.map((dir) => git(dir, 'push', 'origin', `HEAD:${PREFIX}race`)));
    expect(race.filter((r) => r.code === 0)).toHaveLength(1);
    const winner = racers[race.findIndex((r) => r.code === 0)] ?? '';
    expect((await ok(host, 'rev-parse', `${PREFIX}race`)).trim()).toBe((await ok(winner, 'rev-parse', 'HEAD')).trim());
  });

  it('a push over the size cap is refused (413) and leaves the host unchanged', async () => {
    await gate.close();
    gate = await startGitGate({ repo: host, prefix: PREFIX, token: TOKEN, maxRequestBytes: 64 * 1024 });
    const dir = await cloneWithCommit('big', 'big.bin', randomBytes(512 * 1024).toString('base64'));
    const before = await hostRefs();
    const pushed = await git(dir, 'push', 'origin', `HEAD:${PREFIX}big`);
    expect(pushed.code).not.toBe(0);
    expect(pushed.stderr).toMatch(/413/);
    expect(await hostRefs()).toBe(before);
  });
});
