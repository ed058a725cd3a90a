/**
 * What the gate must never serve or take, tried with real git and raw protocol requests on the
 * host: a request without the bottle's credential, a fetch by id of a commit no served ref
 * reaches (protocol v0 and v2), a malformed object or a tree holding `.git` in a push, and a
 * multi-ref push of which one ref receive-pack refuses (all or nothing).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pkt, FLUSH } from '../../src/daemons/gitgate/pktline.ts';
import { type GitGate, startGitGate } from '../../src/daemons/gitgate/server.ts';
import { type GitResult, gitEnv, gitOk, hostRepo, git as runGit } from '../../src/testing/doubles.ts';

const PREFIX = 'bottle/t/';
const TOKEN = 'boundary-token-abcdef';
/** Without the bottle's credential, and with it. */
const BASE_ENV = gitEnv();
const WITH_TOKEN = gitEnv({ token: TOKEN });

const git = (cwd: string, args: string[], env: Record<string, string> = WITH_TOKEN, input?: string): Promise<GitResult> =>
  runGit(cwd, args, { env, ...(input === undefined ? {} : { input }) });
const ok = async (cwd: string, args: string[], input?: string): Promise<string> =>
  (await gitOk(cwd, args, { env: WITH_TOKEN, ...(input === undefined ? {} : { input }) })).trim();

let work: string;
let host: string;
let gate: GitGate;
/** Commits the host has but serves no ref for: one unreferenced, one only under a hidden ref. */
let orphan: string;
let hidden: string;
let main: string;

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'cb-gate-boundary-'));
  host = join(work, 'host');
  main = await hostRepo(host, { README: 'public\n' });
  const tree = await ok(host, ['mktree'], `100644 blob ${await ok(host, ['hash-object', '-w', '--stdin'], 'orphan secret\n')}\tsecret.txt\n`);
  orphan = await ok(host, ['commit-tree', tree, '-m', 'unreferenced']);
  const tree2 = await ok(host, ['mktree'], `100644 blob ${await ok(host, ['hash-object', '-w', '--stdin'], 'hidden secret\n')}\tsecret.txt\n`);
  hidden = await ok(host, ['commit-tree', tree2, '-p', main, '-m', 'hidden']);
  await ok(host, ['update-ref', 'refs/private/stash', hidden]);
  gate = await startGitGate({ repo: host, prefix: PREFIX, token: TOKEN });
});
afterEach(async () => {
  await gate.close();
  await rm(work, { recursive: true, force: true });
});

/** A raw upload-pack request wanting `oid`; v2 adds the Git-Protocol header and the v2 framing. */
async function wantRaw(oid: string, version: 0 | 2): Promise<{ status: number; body: string }> {
  const body =
    version === 2
      ? Buffer.concat([pkt('command=fetch\n'), Buffer.from('0001'), pkt(`want ${oid}\n`), pkt('done\n'), FLUSH])
      : Buffer.concat([pkt(`want ${oid} ofs-delta\n`), FLUSH, pkt('done\n')]);
  const res = await fetch(`${gate.url}/git-upload-pack`, {
    method: 'POST',
    body,
    headers: {
      'Content-Type': 'application/x-git-upload-pack-request',
      Authorization: `Bearer ${TOKEN}`,
      ...(version === 2 ? { 'Git-Protocol': 'version=2' } : {}),
    },
  });
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()).toString('latin1') };
}

describe('the git gate: what it never serves', () => {
  it('without the credential: 401 with an empty body on every path; git clone fails; a forged push lands nothing', async () => {
    const base = gate.url.replace(/\/repo\.git$/, '');
    for (const path of [
      '/repo.git/info/refs?service=git-upload-pack',
      '/repo.git/info/refs?service=git-receive-pack',
      '/repo.git/git-upload-pack',
      '/anything',
    ]) {
      for (const headers of [{}, { Authorization: 'Bearer nope' }, { Authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` }]) {
        const res = await fetch(`${base}${path}`, { headers });
        expect([path, res.status, await res.text()]).toEqual([path, 401, '']);
      }
    }
    const clone = await git(work, ['clone', '-q', gate.url, join(work, 'nope')], BASE_ENV);
    expect(clone.code).not.toBe(0);
    expect(clone.stderr).not.toContain(TOKEN);
    const before = await ok(host, ['for-each-ref']);
    const push = await fetch(`${gate.url}/git-receive-pack`, {
      method: 'POST',
      body: Buffer.concat([pkt(`${'0'.repeat(40)} ${main} refs/heads/${PREFIX}outsider\0report-status\n`), FLUSH]),
      headers: { 'Content-Type': 'application/x-git-receive-pack-request' },
    });
    expect(push.status).toBe(401);
    expect(await ok(host, ['for-each-ref'])).toBe(before);
  });

  it('a want of an unreferenced or hidden-ref commit is refused in protocol v0 and v2; a served one gets a pack', async () => {
    for (const version of [0, 2] as const) {
      for (const oid of [orphan, hidden]) {
        const { body } = await wantRaw(oid, version);
        expect(body, `v${version} want ${oid === orphan ? 'orphan' : 'hidden'}`).not.toContain('PACK');
      }
      // The same request for a served commit is answered with a pack: the refusal is the ref check.
      expect((await wantRaw(main, 0)).body).toContain('PACK');
    }
    const v0 = await wantRaw(orphan, 0);
    expect(v0.body).toMatch(/not our ref/);
  });

  it('git itself cannot fetch them either (v2 and v0); the advertisement shows only branches and tags', async () => {
    const clone = join(work, 'clone');
    await ok(work, ['clone', '-q', gate.url, clone]);
    for (const version of ['2', '0']) {
      for (const oid of [orphan, hidden]) {
        const fetched = await git(clone, ['-c', `protocol.version=${version}`, 'fetch', 'origin', oid]);
        expect(fetched.code, `v${version}: ${fetched.stderr}`).not.toBe(0);
        expect((await git(clone, ['cat-file', '-e', oid])).code).not.toBe(0);
      }
    }
    const refs = await ok(clone, ['-c', 'protocol.version=2', 'ls-remote', 'origin']);
    expect(refs).not.toContain('refs/private');
    expect(refs).not.toContain(hidden);
    expect(refs.split('\n').map((l) => l.split('\t')[1])).toEqual(['HEAD', 'refs/heads/main']);
  });

  it("served refs can be limited: only those (and the bottle's own branches) are advertised", async () => {
    await ok(host, ['branch', 'other']);
    await ok(host, ['tag', 'v1']);
    await gate.close();
    gate = await startGitGate({ repo: host, prefix: PREFIX, token: TOKEN, servedRefs: ['refs/heads/main'] });
    expect(gate.served).toEqual(['refs/heads/main', 'refs/heads/bottle/t']);
    const refs = await ok(work, ['ls-remote', gate.url]);
    expect(refs.split('\n').map((l) => l.split('\t')[1])).toEqual(['HEAD', 'refs/heads/main']);
    await expect(startGitGate({ repo: host, prefix: PREFIX, servedRefs: ['heads/*'] })).rejects.toThrow(/served ref "heads\/\*"/);
  });

  it('a detached HEAD is not advertised', async () => {
    await ok(host, ['checkout', '-q', '--detach', hidden]);
    const refs = await ok(work, ['ls-remote', gate.url]);
    expect(refs).not.toContain(hidden);
    expect(refs.split('\n').map((l) => l.split('\t')[1])).toEqual(['refs/heads/main']);
  });

  it('receive.fsckObjects: a malformed commit and a tree holding .git are refused; the host is unchanged', async () => {
    const clone = join(work, 'clone');
    await ok(work, ['clone', '-q', gate.url, clone]);
    const before = await ok(host, ['for-each-ref']);
    const badCommit = await ok(
      clone,
      ['hash-object', '-t', 'commit', '--literally', '-w', '--stdin'],
      `tree ${await ok(clone, ['rev-parse', 'HEAD^{tree}'])}\nparent ${main}\nauthor no email here\ncommitter x <x@y> 1 +0000\n\nbad\n`,
    );
    const pushedBad = await git(clone, ['push', 'origin', `${badCommit}:refs/heads/${PREFIX}bad`]);
    expect(pushedBad.code).not.toBe(0);
    const blob = await ok(clone, ['hash-object', '-w', '--stdin'], '[core]\n\thooksPath = /tmp\n');
    const inner = await ok(clone, ['mktree'], `100644 blob ${blob}\tconfig\n`);
    const dotgit = await ok(clone, ['mktree'], `040000 tree ${inner}\t.git\n`);
    const commit = await ok(clone, ['commit-tree', dotgit, '-p', main, '-m', 'dotgit']);
    const pushedDotgit = await git(clone, ['push', 'origin', `${commit}:refs/heads/${PREFIX}dotgit`]);
    expect(pushedDotgit.code).not.toBe(0);
    expect(pushedDotgit.stderr).toMatch(/hasDotgit|\.git/);
    expect(await ok(host, ['for-each-ref'])).toBe(before);
    expect((await git(host, ['cat-file', '-e', commit])).code).not.toBe(0);
  });

  it('a push of several refs is all or nothing: one refused by receive-pack (non-fast-forward) stops the others', async () => {
    const clone = join(work, 'clone');
    await ok(work, ['clone', '-q', gate.url, clone]);
    await writeFile(join(clone, 'a.txt'), 'a\n');
    await ok(clone, ['add', 'a.txt']);
    await ok(clone, ['commit', '-q', '-m', 'a']);
    await ok(clone, ['push', '-q', 'origin', `HEAD:${PREFIX}a`]);
    await ok(clone, ['commit', '-q', '--amend', '-m', 'a rewritten']);
    const before = await ok(host, ['for-each-ref']);
    const mixed = await git(clone, ['push', 'origin', `HEAD:${PREFIX}new`, `+HEAD:${PREFIX}a`]);
    expect(mixed.code).not.toBe(0);
    expect(mixed.stderr).toContain(`-> ${PREFIX}a (non-fast-forward)`);
    expect(mixed.stderr).toMatch(new RegExp(`-> ${PREFIX}new \\(atomic push failure\\)`));
    expect(await ok(host, ['for-each-ref'])).toBe(before);
    expect(gate.pushes.at(-1)).toMatchObject({ decidedBy: 'receive-pack', accepted: false });
  });
});
