/**
 * The bounds every daemon's server gets, attacked over raw sockets with small limits: a head too
 * large, too many headers, a head or a body dribbled a byte at a time; and the turn-taking
 * (`Slots`) that bounds the git gate's backends.
 */
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { readBody } from './body.ts';
import { boundedServer, type ServerLimits, Slots } from './limits.ts';
import { type Listening, listen } from './listen.ts';

let open: Listening | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
});

/** A bounded server whose handler reads the body and answers `200 <length>`; `calls` counts handler runs. */
async function serve(limits: Partial<ServerLimits>): Promise<{ port: number; calls: () => number }> {
  let calls = 0;
  const server = boundedServer((req, res) => {
    calls++;
    readBody(req, { maxRawBytes: 1024 * 1024 }).then(
      (body) => res.end(String(body.length)),
      () => undefined,
    );
  }, limits);
  open = await listen(server, '127.0.0.1');
  return { port: open.port, calls: () => calls };
}

interface Exchange {
  /** The status line the server answered, or '' when it answered nothing. */
  readonly status: string;
  /** Bytes of `slow` sent before the connection closed. */
  readonly sent: number;
  readonly ms: number;
}

/** Sends `head` at once, then `slow` one byte every `everyMs`, until the server closes the connection (or 5 s pass). */
function exchange(port: number, head: string, slow = '', everyMs = 100): Promise<Exchange> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const started = Date.now();
    let answer = '';
    let sent = 0;
    const timer = setInterval(() => {
      if (sent < slow.length) socket.write(slow.charAt(sent++));
    }, everyMs);
    const giveUp = setTimeout(() => socket.destroy(), 5000);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      clearTimeout(giveUp);
      resolve({ status: answer.split('\r\n')[0] ?? '', sent, ms: Date.now() - started });
    });
    socket.write(head);
  });
}

const headers = (n: number): string => Array.from({ length: n }, (_, i) => `X-H${i}: v\r\n`).join('');

describe('boundedServer', () => {
  it('a head larger than maxHeaderBytes gets 431 and never reaches the handler', async () => {
    const server = await serve({ maxHeaderBytes: 1024 });
    const big = await exchange(server.port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(2000)}\r\nConnection: close\r\n\r\n`);
    expect(big.status).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect(server.calls()).toBe(0);
    const fits = await exchange(server.port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(500)}\r\nConnection: close\r\n\r\n`);
    expect(fits.status).toBe('HTTP/1.1 200 OK');
  });

  it('more headers than maxHeaders get 431 (node would drop the extra ones silently); as many as allowed pass', async () => {
    const server = await serve({ maxHeaders: 10 });
    // Host and Connection count: 2 + 9 = 11.
    const many = await exchange(server.port, `GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${headers(9)}\r\n`);
    expect(many.status).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect(server.calls()).toBe(0);
    const enough = await exchange(server.port, `GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${headers(8)}\r\n`);
    expect(enough.status).toBe('HTTP/1.1 200 OK');
  });

  it('a head dribbled a byte every 100 ms is cut at headersTimeoutMs, though the connection is never idle', async () => {
    const server = await serve({ headersTimeoutMs: 300, requestTimeoutMs: 5000, idleTimeoutMs: 5000 });
    const slowHead = `GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ${'a'.repeat(60)}\r\n\r\n`;
    const cut = await exchange(server.port, '', slowHead);
    expect(cut.status).toBe('HTTP/1.1 408 Request Timeout');
    // Node checks the timeouts every min(1 s, headersTimeoutMs): cut well before the 5 s limits.
    expect(cut.ms).toBeLessThan(2000);
    expect(cut.sent).toBeLessThan(slowHead.length);
    expect(server.calls()).toBe(0);
  });

  it('a body dribbled a byte every 100 ms is cut at requestTimeoutMs', async () => {
    const server = await serve({ headersTimeoutMs: 300, requestTimeoutMs: 600, idleTimeoutMs: 5000 });
    const cut = await exchange(server.port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n', 'a'.repeat(100));
    expect(cut.status).toBe('HTTP/1.1 408 Request Timeout');
    expect(cut.ms).toBeLessThan(2000);
    expect(cut.sent).toBeLessThan(100);
    // The handler ran (the head was complete) and never got the whole body.
    expect(server.calls()).toBe(1);
  });
});

describe('Slots', () => {
  it('gives maxRunning turns at once, queues maxWaiting in order, refuses beyond', async () => {
    const slots = new Slots({ maxRunning: 2, maxWaiting: 2 });
    const a = await slots.take();
    const b = await slots.take();
    expect([a, b].every((r) => typeof r === 'function')).toBe(true);
    const order: string[] = [];
    const queued = (name: string) =>
      slots.take().then((release) => {
        order.push(name);
        return release;
      });
    const c = queued('c');
    const d = queued('d');
    expect(await slots.take()).toBeUndefined();
    expect({ running: slots.running, waiting: slots.waiting }).toEqual({ running: 2, waiting: 2 });
    a?.();
    a?.(); // a second release is a no-op: it must not free another turn
    const releaseC = await c;
    expect(order).toEqual(['c']);
    expect({ running: slots.running, waiting: slots.waiting }).toEqual({ running: 2, waiting: 1 });
    b?.();
    const releaseD = await d;
    expect(order).toEqual(['c', 'd']);
    releaseC?.();
    releaseD?.();
    expect({ running: slots.running, waiting: slots.waiting }).toEqual({ running: 0, waiting: 0 });
  });

  it('a waiter whose signal aborts leaves the queue; the turn goes to the next', async () => {
    const slots = new Slots({ maxRunning: 1, maxWaiting: 2 });
    const first = await slots.take();
    const leaving = new AbortController();
    const left = slots.take(leaving.signal);
    const next = slots.take();
    leaving.abort(new Error('gone'));
    await expect(left).rejects.toThrow('gone');
    expect(slots.waiting).toBe(1);
    first?.();
    const release = await next;
    expect(slots.running).toBe(1);
    release?.();
    expect(slots.running).toBe(0);
    await expect(slots.take(AbortSignal.abort(new Error('already gone')))).rejects.toThrow('already gone');
    expect(slots.running).toBe(0);
  });
});
