/**
 * The git gate's HTTP, with raw requests on a temp host repository: the credential, the routes,
 * the size caps, a gzip body, and a push decided by the gate's policy or taken by receive-pack,
 * without a git client. The same behaviours with git on both sides (clones, pushes, races, large
 * packs) are in integration/git/pushes.test.ts.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitOk, hostRepo } from '../../testing/doubles.ts';
import { FLUSH, parseReport, pkt, readPkts } from './pktline.ts';
import { GATE_REPO_PATH, type GitGate, startGitGate } from './server.ts';

const PREFIX = 'bottle/reviewer/';
const TOKEN = 'test-token-0123456789';
const AUTH = { Authorization: `Bearer ${TOKEN}` };
const ZERO = '0'.repeat(40);

const ok = (cwd: string, ...args: string[]): Promise<string> => gitOk(cwd, args);

let work: string;
let host: string;
let main: string;
/** A commit no branch reaches and `main` does not descend from: updating a branch to it is not a fast-forward. */
let unrelated: string;
let gate: GitGate;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'claude-bottle-gitgate-'));
  host = join(work, 'host');
  main = await hostRepo(host, { README: 'hello\n' });
  await ok(host, 'branch', `${PREFIX}existing`);
  unrelated = (await ok(host, 'commit-tree', `${main}^{tree}`, '-m', 'unrelated')).trim();
  gate = await startGitGate({ repo: host, prefix: PREFIX, token: TOKEN });
});

afterAll(async () => {
  await gate?.close();
  await rm(work, { recursive: true, force: true });
});

const hostRefs = () => ok(host, 'for-each-ref', '--format=%(objectname) %(refname)');

/** A receive-pack request: the command lines (capabilities on the first), a flush, then `pack`. */
function pushBody(commands: readonly string[], capabilities: string, pack: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat([...commands.map((c, i) => pkt(i === 0 ? `${c}\0${capabilities}\n` : `${c}\n`)), FLUSH, pack]);
}

const receivePack = (body: Buffer, to: GitGate = gate) =>
  fetch(`${to.url}/git-receive-pack`, { method: 'POST', body, headers: { 'Content-Type': 'application/x-git-receive-pack-request', ...AUTH } });

/** A pack of no objects, as git sends when every pushed commit is already on the other side. */
function emptyPack(): Buffer {
  const head = Buffer.concat([Buffer.from('PACK', 'latin1'), Buffer.from([0, 0, 0, 2, 0, 0, 0, 0])]);
  return Buffer.concat([head, createHash('sha1').update(head).digest()]);
}

describe('the git gate over HTTP', () => {
  it('answers only with the credential, and only smart HTTP under /repo.git', async () => {
    expect(gate.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/repo\.git$/);
    const anonymous = await fetch(`${gate.url}/info/refs?service=git-upload-pack`);
    expect(anonymous.status).toBe(401);
    const base = gate.url.slice(0, -GATE_REPO_PATH.length);
    const get = (url: string) => fetch(url, { headers: AUTH });
    expect((await get(`${base}/other.git/info/refs?service=git-upload-pack`)).status).toBe(404);
    expect((await get(`${gate.url}/info/refs`)).status).toBe(403);
    expect((await get(`${gate.url}/HEAD`)).status).toBe(404);
    expect((await get(`${gate.url}/objects/info/packs`)).status).toBe(404);
    expect((await get(`${gate.url}/git-upload-pack`)).status).toBe(405);
    const refs = await get(`${gate.url}/info/refs?service=git-receive-pack`);
    expect(refs.status).toBe(200);
    expect(await refs.text()).toContain('# service=git-receive-pack');
    const garbage = await fetch(`${gate.url}/git-receive-pack`, { method: 'POST', body: 'not pkt-lines', headers: AUTH });
    expect(garbage.status).toBe(400);
  });

  it('decodes a gzip request body (git gzips large fetch negotiations)', async () => {
    const request = Buffer.concat([pkt(`want ${main} ofs-delta\n`), FLUSH, pkt('done\n')]);
    const post = (body: Buffer, headers: Record<string, string> = {}) =>
      fetch(`${gate.url}/git-upload-pack`, { method: 'POST', body, headers: { 'Content-Type': 'application/x-git-upload-pack-request', ...AUTH, ...headers } });
    const plain = Buffer.from(await (await post(request)).arrayBuffer());
    const gzipped = await post(gzipSync(request), { 'Content-Encoding': 'gzip' });
    expect(gzipped.status).toBe(200);
    expect(gzipped.headers.get('content-type')).toBe('application/x-git-upload-pack-result');
    const body = Buffer.from(await gzipped.arrayBuffer());
    expect(body.includes(Buffer.from('PACK'))).toBe(true);
    expect(body).toEqual(plain);
  });

  it('refuses a request body over the cap (413), plain or gzip', async () => {
    await using small = await startGitGate({ repo: host, prefix: PREFIX, token: TOKEN, maxRequestBytes: 64 * 1024 });
    const before = await hostRefs();
    const plain = await receivePack(Buffer.alloc(65 * 1024, 0x30), small);
    expect(plain.status).toBe(413);
    expect(await plain.text()).toContain('request body larger than 65536 bytes');
    // A small gzip body that inflates past the cap is refused too.
    const bomb = await fetch(`${small.url}/git-receive-pack`, {
      method: 'POST',
      body: gzipSync(Buffer.alloc(10 * 1024 * 1024, 0x30)),
      headers: { 'Content-Type': 'application/x-git-receive-pack-request', 'Content-Encoding': 'gzip', ...AUTH },
    });
    expect(bomb.status).toBe(413);
    expect(await hostRefs()).toBe(before);
  });

  it('refuses a push by its policy before receive-pack: every ref ng in the report, the reasons on side-band 2, the host unchanged', async () => {
    const before = await hostRefs();
    const pushesBefore = gate.pushes.length;
    const commands = [`${ZERO} ${main} refs/heads/${PREFIX}new`, `${ZERO} ${main} refs/heads/main`, `${main} ${ZERO} refs/heads/${PREFIX}existing`];
    // Whatever pack follows the command list is read to the end, never handed on.
    const res = await receivePack(pushBody(commands, 'report-status side-band-64k', Buffer.from('PACK not really a pack')));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-git-receive-pack-result');
    const answer = Buffer.from(await res.arrayBuffer());
    const results = [
      { ref: `refs/heads/${PREFIX}new`, ok: false, reason: 'claude-bottle git gate: not pushed, another ref in this push was refused' },
      { ref: 'refs/heads/main', ok: false, reason: `claude-bottle git gate: only branches ${PREFIX}* may be pushed` },
      { ref: `refs/heads/${PREFIX}existing`, ok: false, reason: 'claude-bottle git gate: deleting refs is not allowed' },
    ];
    expect(parseReport(answer, true)).toEqual({ unpack: 'ok', results });
    const messages = [...readPkts(answer)].flatMap((p) => (p.kind === 'data' && p.data[0] === 2 ? [p.data.subarray(1).toString('utf8')] : [])).join('');
    expect(messages).toBe(
      `error: refs/heads/main: claude-bottle git gate: only branches ${PREFIX}* may be pushed\nerror: refs/heads/${PREFIX}existing: claude-bottle git gate: deleting refs is not allowed\n`,
    );
    expect(gate.pushes.slice(pushesBefore)).toMatchObject([
      { decidedBy: 'gate', accepted: false, results, commands: commands.map((c) => ({ ref: c.split(' ')[2] })) },
    ]);

    // Without side-band the report is the whole answer.
    const plain = await receivePack(pushBody([`${ZERO} ${main} refs/heads/other`], 'report-status'));
    expect(parseReport(Buffer.from(await plain.arrayBuffer()), false)).toEqual({
      unpack: 'ok',
      results: [{ ref: 'refs/heads/other', ok: false, reason: `claude-bottle git gate: only branches ${PREFIX}* may be pushed` }],
    });
    expect(await hostRefs()).toBe(before);
  });

  it('hands an allowed push to receive-pack, which updates the host and reports each ref', async () => {
    const res = await receivePack(pushBody([`${ZERO} ${main} refs/heads/${PREFIX}via-http`], 'report-status side-band-64k', emptyPack()));
    expect(res.status).toBe(200);
    expect(parseReport(Buffer.from(await res.arrayBuffer()), true)).toEqual({ unpack: 'ok', results: [{ ref: `refs/heads/${PREFIX}via-http`, ok: true }] });
    expect((await ok(host, 'rev-parse', `refs/heads/${PREFIX}via-http`)).trim()).toBe(main);
    expect(gate.pushes.at(-1)).toMatchObject({ decidedBy: 'receive-pack', accepted: true, results: [{ ref: `refs/heads/${PREFIX}via-http`, ok: true }] });
  });

  it('a push whose command lines carry no capabilities is still all or nothing, and its record tells what happened', async () => {
    const before = await hostRefs();
    // Hand-written: no `\0` on any line, so no report asked for and no `atomic`.
    const created = `refs/heads/${PREFIX}new-no-caps`;
    const body = Buffer.concat([pkt(`${ZERO} ${main} ${created}\n`), pkt(`${main} ${unrelated} refs/heads/${PREFIX}existing\n`), FLUSH, emptyPack()]);
    const res = await receivePack(body);
    expect(res.status).toBe(200);
    const results = [
      { ref: created, ok: false, reason: 'atomic push failure' },
      { ref: `refs/heads/${PREFIX}existing`, ok: false, reason: 'non-fast-forward' },
    ];
    // The gate asked receive-pack for a report (plain: no side-band was asked for) and got it.
    expect(parseReport(Buffer.from(await res.arrayBuffer()), false)).toEqual({ unpack: 'ok', results });
    expect(await hostRefs()).toBe(before);
    expect(gate.pushes.at(-1)).toMatchObject({ decidedBy: 'receive-pack', accepted: false, results });
  });

  it('reads capabilities from any command line, as receive-pack does: side-band-64k on the second line', async () => {
    const before = await hostRefs();
    const body = Buffer.concat([
      pkt(`${ZERO} ${main} refs/heads/${PREFIX}caps-late\n`),
      pkt(`${main} ${unrelated} refs/heads/${PREFIX}existing\0report-status side-band-64k\n`),
      FLUSH,
      emptyPack(),
    ]);
    const answer = Buffer.from(await (await receivePack(body)).arrayBuffer());
    const results = [
      { ref: `refs/heads/${PREFIX}caps-late`, ok: false, reason: 'atomic push failure' },
      { ref: `refs/heads/${PREFIX}existing`, ok: false, reason: 'non-fast-forward' },
    ];
    expect(parseReport(answer, true)).toEqual({ unpack: 'ok', results });
    expect(await hostRefs()).toBe(before);
    expect(gate.pushes.at(-1)).toMatchObject({ decidedBy: 'receive-pack', accepted: false, results });
  });

  it('needs a git repository', async () => {
    await expect(startGitGate({ repo: work, prefix: PREFIX })).rejects.toThrow(/is not a git repository/);
  });
});
