/**
 * The daemons' credential check: which `Authorization` headers carry a token, that tokens are
 * compared through fixed-length digests in constant time, and what a caller without the right
 * one gets (401, nothing else, its body never read).
 */
import * as crypto from 'node:crypto';
import { request } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { boundedServer } from './limits.ts';
import { type Listening, listen } from './listen.ts';

vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});
// Loaded afresh after the mock: the unit project shares modules between files (no isolation),
// and another file may have loaded auth.ts with the real node:crypto already.
vi.resetModules();
const { authorize, bearerToken, newCredential, sameSecret } = await import('./auth.ts');

const header = (authorization?: string) => bearerToken({ headers: authorization === undefined ? {} : { authorization } });

describe('bearerToken', () => {
  it('reads the token of a Bearer header: any case of the scheme, spaces or tabs around the token', () => {
    expect(header('Bearer abc.DEF_12-3')).toBe('abc.DEF_12-3');
    expect(header('bearer abc')).toBe('abc');
    expect(header('BEARER \tabc \t')).toBe('abc');
  });

  it('finds none in a missing, malformed or other-scheme header', () => {
    for (const value of [undefined, '', 'Bearer', 'Bearer ', 'Bearerabc', 'Bearer a b', ' Bearer abc', 'Basic abc', 'Token abc', 'Bearer\u00a0abc', 'abc']) {
      expect([value, header(value)]).toEqual([value, undefined]);
    }
  });
});

describe('sameSecret', () => {
  it('is true only for the same token: not a prefix, an extension, another case or length', () => {
    const token = newCredential();
    expect(sameSecret(token, token)).toBe(true);
    for (const other of [token.slice(0, -1), `${token}x`, token.toUpperCase() === token ? token.toLowerCase() : token.toUpperCase(), '', newCredential()]) {
      expect(sameSecret(other, token)).toBe(false);
    }
  });

  it('compares two 32-byte digests with timingSafeEqual, whatever the lengths given', () => {
    const timingSafeEqual = vi.mocked(crypto.timingSafeEqual);
    timingSafeEqual.mockClear();
    // Lengths differ: a direct timingSafeEqual would throw, a direct === would leak the length.
    expect(sameSecret('short', 'a much longer expected token')).toBe(false);
    expect(timingSafeEqual).toHaveBeenCalledTimes(1);
    const [a, b] = timingSafeEqual.mock.calls[0] as [Buffer, Buffer];
    expect([a.length, b.length]).toEqual([32, 32]);
  });
});

describe('newCredential', () => {
  it('is 256 random bits in base64url, fresh each time', () => {
    const tokens = new Set(Array.from({ length: 50 }, newCredential));
    expect(tokens.size).toBe(50);
    for (const token of tokens) expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});

describe('authorize', () => {
  let open: Listening | undefined;
  afterEach(async () => {
    await open?.close();
    open = undefined;
  });

  it('without the token: 401, an empty body and the connection closed, the declared body never read', async () => {
    const token = newCredential();
    let passed = 0;
    open = await listen(
      boundedServer((req, res) => {
        if (!authorize(req, res, token)) return;
        passed++;
        res.end('in');
      }),
      '127.0.0.1',
    );
    const port = open.port;
    const post = (authorization: string | undefined) =>
      new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
        // Declares 50 MB, sends 1 KiB and waits: the 401 must come without the rest.
        const req = request({
          host: '127.0.0.1',
          port,
          method: 'POST',
          headers: { 'content-length': String(50 * 1024 * 1024), ...(authorization ? { authorization } : {}) },
        });
        req.on('response', (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        });
        req.on('error', reject);
        req.write(Buffer.alloc(1024));
      });
    for (const authorization of [undefined, 'Bearer wrong', `Basic ${token}`, `Bearer ${token}x`, `Bearer ${token.slice(1)}`]) {
      const answer = await post(authorization);
      expect([authorization, answer]).toMatchObject([authorization, { status: 401, body: '', headers: { 'content-length': '0', connection: 'close' } }]);
    }
    expect(passed).toBe(0);
    const res = await fetch(`http://127.0.0.1:${port}/`, { headers: { authorization: `Bearer ${token}` } });
    expect([res.status, await res.text()]).toEqual([200, 'in']);
    expect(passed).toBe(1);
  });
});
