/**
 * The daemons' bounds, measured: heap after 1000 supervise calls, a chunked body over the cap
 * refused with 413, a gzip bomb sent to the git gate refused with bounded memory (as the whole
 * body, and as the pack behind a valid command list, which receive-pack reads), and idle
 * connections beyond the cap dropped while a real request still gets through once they time out.
 * In-process servers on 127.0.0.1 only; printed numbers go to the CI log.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLUSH, pkt } from '../../src/daemons/gitgate/pktline.ts';
import { startGitGate, type GitGate } from '../../src/daemons/gitgate/server.ts';
import { startSuperviseServer } from '../../src/daemons/supervise/server.ts';
import { gitOk, hostRepo, zeroBlobPack } from '../../src/testing/doubles.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const MiB = 1024 * 1024;
const heap = (): number => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

/** POSTs `chunks` with chunked transfer encoding (no Content-Length); resolves with the status. */
function chunkedPost(url: string, headers: Record<string, string>, chunks: readonly Buffer[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request({ host: u.hostname, port: u.port, path: `${u.pathname}${u.search}`, method: 'POST', headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', (error: NodeJS.ErrnoException) => (error.code === 'EPIPE' || error.code === 'ECONNRESET' ? undefined : reject(error)));
    const write = (i: number): void => {
      if (i >= chunks.length) return void req.end();
      if (req.destroyed) return;
      req.write(chunks[i], () => write(i + 1));
    };
    write(0);
  });
}

describe('supervise bounds', () => {
  it('heap after 1000 calls of 15 KiB each stays bounded (the ring keeps 200); all are in the JSONL file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cb-bounds-'));
    const { CallLog } = await import('../../src/daemons/supervise/calls.ts');
    const log = new CallLog({ file: join(dir, 'calls.jsonl') });
    await using server = await startSuperviseServer({ log });
    const summary = 'x'.repeat(15 * 1024);
    const call = (id: number) =>
      fetch(server.url, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'report_progress', arguments: { summary } } }),
      }).then((r) => r.text());
    for (let i = 0; i < 50; i++) await call(i);
    const before = heap();
    for (let i = 0; i < 1000; i += 10) await Promise.all(Array.from({ length: 10 }, (_, j) => call(i + j)));
    await log.flush();
    const growth = heap() - before;
    console.log(
      `[bounds] supervise: heap growth after 1000 calls of 15 KiB: ${(growth / MiB).toFixed(1)} MiB; calls in memory ${server.calls.length}, total ${log.total}`,
    );
    expect(server.calls).toHaveLength(200);
    expect(log.total).toBe(1050);
    // 1000 calls held whole would be ~30 MiB of strings (UTF-16); the ring of 200 is ~3 MiB.
    expect(growth).toBeLessThan(12 * MiB);
    await rm(dir, { recursive: true, force: true });
  });

  it('a chunked body over the cap is 413, read no further than the cap', async () => {
    await using server = await startSuperviseServer();
    const status = await chunkedPost(
      server.url,
      { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
      Array.from({ length: 4096 }, () => Buffer.alloc(1024, 0x20)),
    );
    expect(status).toBe(413);
  });

  it('idle connections beyond the cap are dropped; once they time out a real request is served', async () => {
    await using server = await startSuperviseServer({ limits: { maxConnections: 8, headersTimeoutMs: 1000, idleTimeoutMs: 1500 } });
    const sockets: Socket[] = [];
    const closed: boolean[] = [];
    for (let i = 0; i < 200; i++) {
      const s = connect(server.port, '127.0.0.1');
      s.on('error', () => undefined);
      const index = closed.push(false) - 1;
      s.on('close', () => (closed[index] = true));
      sockets.push(s);
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(closed.filter(Boolean).length).toBeGreaterThanOrEqual(190);
    await new Promise((r) => setTimeout(r, 3000));
    expect(closed.every(Boolean)).toBe(true);
    const res = await fetch(server.url, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    });
    expect(res.status).toBe(200);
    await res.text();
  });
});

describe('git gate bounds', () => {
  let dir = '';
  let gate: GitGate | undefined;
  const TOKEN = 'bounds-token';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cb-bounds-gate-'));
    await hostRepo(dir, { f: 'x\n' });
    gate = await startGitGate({ repo: dir, prefix: 'bottle/t/', token: TOKEN });
  });
  afterAll(async () => {
    await gate?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a 3 MB gzip bomb (3 GiB inflated) is refused for fetch (413) and push (400), with bounded memory', async () => {
    // One 10 MiB-of-zeros gzip member (~10 KiB), repeated: gunzip reads concatenated members.
    const member = gzipSync(Buffer.alloc(10 * MiB), { level: 9 });
    const bomb = Buffer.concat(Array.from({ length: Math.ceil((3 * MiB) / member.length) }, () => member));
    const inflated = (bomb.length / member.length) * 10 * MiB;
    expect(inflated).toBeGreaterThan(2.5 * 1024 * MiB);
    for (const service of ['git-upload-pack', 'git-receive-pack']) {
      const rssBefore = process.memoryUsage().rss;
      const heapBefore = heap();
      let peak = rssBefore;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
      const status = await chunkedPost(
        `${gate?.url}/${service}`,
        { authorization: `Bearer ${TOKEN}`, 'content-type': `application/x-${service}-request`, 'content-encoding': 'gzip' },
        Array.from({ length: Math.ceil(bomb.length / (64 * 1024)) }, (_, i) => bomb.subarray(i * 64 * 1024, (i + 1) * 64 * 1024)),
      );
      clearInterval(sampler);
      const heapGrowth = heap() - heapBefore;
      console.log(
        `[bounds] gate ${service}: ${(bomb.length / MiB).toFixed(1)} MiB gzip inflating to ${(inflated / 1024 / MiB).toFixed(1)} GiB -> ${status}; ` +
          `peak RSS growth ${((peak - rssBefore) / MiB).toFixed(1)} MiB, heap growth after ${(heapGrowth / MiB).toFixed(1)} MiB`,
      );
      // upload-pack: the inflated size passes the cap (413); receive-pack: what inflates is not a command list (400) long before.
      expect(status).toBe(service === 'git-upload-pack' ? 413 : 400);
      expect(peak - rssBefore).toBeLessThan(96 * MiB);
      expect(heapGrowth).toBeLessThan(16 * MiB);
    }
  });

  it('a bomb in the pack behind a valid command list reaches receive-pack and is cut at the decoded cap (413), with bounded memory', async () => {
    await using small = await startGitGate({ repo: dir, prefix: 'bottle/t/', token: TOKEN, maxRequestBytes: 32 * MiB });
    const main = (await gitOk(dir, ['rev-parse', 'main'])).trim();
    const commands = Buffer.concat([pkt(`${'0'.repeat(40)} ${main} refs/heads/bottle/t/bomb\0report-status side-band-64k\n`), FLUSH]);
    const bomb = gzipSync(Buffer.concat([commands, zeroBlobPack(64 * MiB)]));
    const before = await gitOk(dir, ['for-each-ref']);
    const rssBefore = process.memoryUsage().rss;
    const heapBefore = heap();
    let peak = rssBefore;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const status = await chunkedPost(
      `${small.url}/git-receive-pack`,
      { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/x-git-receive-pack-request', 'content-encoding': 'gzip' },
      Array.from({ length: Math.ceil(bomb.length / (16 * 1024)) }, (_, i) => bomb.subarray(i * 16 * 1024, (i + 1) * 16 * 1024)),
    );
    clearInterval(sampler);
    const heapGrowth = heap() - heapBefore;
    console.log(
      `[bounds] gate git-receive-pack, pack bomb: ${(bomb.length / 1024).toFixed(0)} KiB gzip inflating to 64 MiB, cap 32 MiB -> ${status}; ` +
        `peak RSS growth ${((peak - rssBefore) / MiB).toFixed(1)} MiB, heap growth after ${(heapGrowth / MiB).toFixed(1)} MiB`,
    );
    expect(status).toBe(413);
    expect(peak - rssBefore).toBeLessThan(96 * MiB);
    expect(heapGrowth).toBeLessThan(16 * MiB);
    expect(await gitOk(dir, ['for-each-ref'])).toBe(before);
    expect(small.pushes).toEqual([]);
  });
});
