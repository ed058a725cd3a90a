/**
 * The git gate's bounds, attacked with raw requests: a gzip bomb hidden in the pack behind a
 * valid command list, more requests at once than it runs git for, and more connections than it
 * keeps open. (The daemon kernel's header and timeout bounds: src/daemon/limits.test.ts.)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { type ClientRequest, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitOk, hostRepo, zeroBlobPack } from '../../testing/doubles.ts';
import { FLUSH, pkt } from './pktline.ts';
import { type GitGate, startGitGate } from './server.ts';

const PREFIX = 'bottle/b/';
const TOKEN = 'bounds-token-0123456789';
const AUTH = { Authorization: `Bearer ${TOKEN}` };
const ZERO = '0'.repeat(40);
const MiB = 1024 * 1024;

let work: string;
let host: string;
let main: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'claude-bottle-gate-bounds-'));
  host = join(work, 'host');
  main = await hostRepo(host, { README: 'hello\n' });
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const hostRefs = () => gitOk(host, ['for-each-ref', '--format=%(objectname) %(refname)']);

async function until(what: string, condition: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A POST whose body is sent chunked and left open: the test decides when (if ever) it ends. */
function openPost(gate: GitGate, path: string, first: Buffer): { req: ClientRequest; status: Promise<number> } {
  const url = new URL(`${gate.url}${path}`);
  const req = request({
    host: url.hostname,
    port: url.port,
    path: url.pathname,
    method: 'POST',
    headers: { ...AUTH, 'Content-Type': 'application/x-git-upload-pack-request', 'Transfer-Encoding': 'chunked' },
  });
  const status = new Promise<number>((resolve) => {
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(-1));
  });
  req.write(first);
  return { req, status };
}

describe('git gate bounds', () => {
  it('a valid command list followed by a gzip bomb in the pack is cut at the decoded cap (413); nothing lands', async () => {
    await using gate = await startGitGate({ repo: host, prefix: PREFIX, token: TOKEN, maxRequestBytes: 64 * 1024 });
    const before = await hostRefs();
    const commands = Buffer.concat([pkt(`${ZERO} ${main} refs/heads/${PREFIX}bomb\0report-status side-band-64k\n`), FLUSH]);
    const body = gzipSync(Buffer.concat([commands, zeroBlobPack(4 * MiB)]));
    // Small on the wire: what refuses it is the size once decompressed, with receive-pack already reading the pack.
    expect(body.length).toBeLessThan(64 * 1024);
    const res = await fetch(`${gate.url}/git-receive-pack`, {
      method: 'POST',
      body,
      headers: { ...AUTH, 'Content-Type': 'application/x-git-receive-pack-request', 'Content-Encoding': 'gzip' },
    });
    expect(res.status).toBe(413);
    expect(await res.text()).toBe('claude-bottle git gate: request body larger than 65536 bytes once decompressed\n');
    expect(await hostRefs()).toBe(before);
    expect(gate.pushes).toEqual([]);
    await until('no request is served', () => gate.load.running === 0);
  });

  it('serves maxRunning requests at once; the next waits its turn, and one more than maxWaiting gets 503 with Retry-After', async () => {
    await using gate = await startGitGate({ repo: host, prefix: PREFIX, token: TOKEN, concurrency: { maxRunning: 1, maxWaiting: 1 } });
    // A fetch whose negotiation never ends holds the one turn (and its http-backend).
    const holder = openPost(gate, '/git-upload-pack', pkt(`want ${main} ofs-delta\n`));
    await until('the holder is served', () => gate.load.running === 1);
    let answered = false;
    const waiter = fetch(`${gate.url}/info/refs?service=git-upload-pack`, { headers: AUTH }).then(async (res) => {
      answered = true;
      return { status: res.status, body: await res.text() };
    });
    await until('the second request waits', () => gate.load.waiting === 1);
    const refused = await fetch(`${gate.url}/info/refs?service=git-upload-pack`, { headers: AUTH });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await refused.text()).toBe('claude-bottle git gate: too many git requests at once; retry\n');
    expect(answered).toBe(false);
    expect(gate.load).toMatchObject({ running: 1, waiting: 1 });
    // The holder ends its request: the waiter gets the turn and its answer.
    holder.req.end(Buffer.concat([FLUSH, pkt('done\n')]));
    expect(await holder.status).toBe(200);
    const served = await waiter;
    expect(served.status).toBe(200);
    expect(served.body).toContain('# service=git-upload-pack');
    await until('all turns are given back', () => gate.load.running === 0 && gate.load.waiting === 0);
  });

  it('a waiting request whose client leaves gives up its place', async () => {
    await using gate = await startGitGate({ repo: host, prefix: PREFIX, token: TOKEN, concurrency: { maxRunning: 1, maxWaiting: 1 } });
    const holder = openPost(gate, '/git-upload-pack', pkt(`want ${main} ofs-delta\n`));
    await until('the holder is served', () => gate.load.running === 1);
    const leaving = openPost(gate, '/git-upload-pack', pkt(`want ${main} ofs-delta\n`));
    await until('the second request waits', () => gate.load.waiting === 1);
    leaving.req.destroy();
    await until('the leaver is out of the queue', () => gate.load.waiting === 0);
    holder.req.destroy();
    await until('the holder gave its turn back', () => gate.load.running === 0);
  });

  it('connections beyond the cap are closed as they arrive; once they go, a request is served', async () => {
    await using gate = await startGitGate({ repo: host, prefix: PREFIX, token: TOKEN, limits: { maxConnections: 4 } });
    const url = new URL(gate.url);
    const sockets: Socket[] = [];
    const closed: boolean[] = [];
    for (let i = 0; i < 12; i++) {
      const socket = connect(Number(url.port), url.hostname);
      socket.on('error', () => undefined);
      const index = closed.push(false) - 1;
      socket.on('close', () => (closed[index] = true));
      sockets.push(socket);
      // One at a time, so the server counts them in order.
      await new Promise((r) => socket.once('connect', r));
    }
    await until('8 connections are closed', () => closed.filter(Boolean).length >= 8);
    expect(closed.slice(0, 4)).toEqual([false, false, false, false]);
    for (const socket of sockets) socket.destroy();
    await until('all are closed', () => closed.every(Boolean));
    const res = await fetch(`${gate.url}/info/refs?service=git-upload-pack`, { headers: AUTH });
    expect(res.status).toBe(200);
    await res.text();
  });
});
