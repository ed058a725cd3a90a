/**
 * Request bodies bounded before and while they are decoded: a declared length over the cap is
 * refused before a byte is read, an undeclared one at the cap on the wire, a gzip body at the
 * cap once inflated (a bomb is never inflated whole), an unknown encoding with 415 and broken
 * gzip with 400. Driven with stand-in requests (a stream and its headers), no sockets.
 */
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { BodyError, type BodyLimits, decodedBody, readBody } from './body.ts';
import { HttpError } from './http-error.ts';

/** A request whose body is `chunks`, counting how many times its stream was asked for data. */
function fakeRequest(chunks: readonly Buffer[], headers: Record<string, string> = {}): IncomingMessage & { reads: () => number } {
  let reads = 0;
  let next = 0;
  const stream = new Readable({
    read() {
      reads++;
      this.push(next < chunks.length ? chunks[next++] : null);
    },
  });
  return Object.assign(stream, { headers, reads: () => reads }) as unknown as IncomingMessage & { reads: () => number };
}

async function refusal(req: IncomingMessage, limits: BodyLimits): Promise<BodyError> {
  try {
    await readBody(req, limits);
  } catch (error) {
    if (error instanceof BodyError) return error;
    throw error;
  }
  throw new Error('the body was accepted');
}

const KiB = 1024;

describe('decodedBody', () => {
  it('a declared Content-Length over the cap is refused (413) before a byte is read', () => {
    const req = fakeRequest([Buffer.alloc(10)], { 'content-length': String(64 * KiB + 1) });
    let thrown: unknown;
    try {
      decodedBody(req, { maxRawBytes: 64 * KiB });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(BodyError);
    expect(thrown).toBeInstanceOf(HttpError);
    expect(thrown).toMatchObject({ status: 413, message: `request body larger than ${64 * KiB} bytes` });
    expect(req.reads()).toBe(0);
  });

  it('an undeclared (chunked) body is cut at the cap on the wire (413), not read to its end', async () => {
    const chunks = Array.from({ length: 1000 }, () => Buffer.alloc(KiB));
    const req = fakeRequest(chunks);
    expect(await refusal(req, { maxRawBytes: 8 * KiB })).toMatchObject({ status: 413, message: `request body larger than ${8 * KiB} bytes on the wire` });
    // The cap and the streams' read-ahead (tens of KiB), never the whole MiB.
    expect(req.reads()).toBeLessThan(200);
    // At the cap exactly is still a body.
    expect((await readBody(fakeRequest(chunks.slice(0, 8)), { maxRawBytes: 8 * KiB })).length).toBe(8 * KiB);
  });

  it('a gzip body is inflated as a stream and cut at the decoded cap (413): a bomb is never inflated whole', async () => {
    // 4 GiB of zeros in ~4 MiB of gzip: one 1 MiB member, repeated (gunzip reads concatenated members).
    const member = gzipSync(Buffer.alloc(1024 * KiB), { level: 9 });
    const req = fakeRequest(
      Array.from({ length: 4096 }, () => member),
      { 'content-encoding': 'gzip' },
    );
    const started = Date.now();
    const body = decodedBody(req, { maxRawBytes: 8 * 1024 * KiB, maxDecodedBytes: 32 * KiB });
    let delivered = 0;
    const error = await new Promise<unknown>((resolve) => {
      body.on('data', (chunk: Buffer) => (delivered += chunk.length));
      body.on('error', resolve);
      body.on('end', () => resolve(undefined));
    });
    expect(error).toMatchObject({ status: 413, message: `request body larger than ${32 * KiB} bytes once decompressed` });
    // The reader never gets more than the cap; inflating the 4 GiB would take seconds, not this.
    expect(delivered).toBeLessThanOrEqual(32 * KiB);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('decodes gzip and x-gzip (any case, padded) within the caps; identity and no encoding pass as they are', async () => {
    const text = Buffer.from('want 0000 ofs-delta\n'.repeat(100));
    for (const encoding of ['gzip', 'x-gzip', ' GZIP ']) {
      expect(await readBody(fakeRequest([gzipSync(text)], { 'content-encoding': encoding }), { maxRawBytes: KiB, maxDecodedBytes: 4 * KiB })).toEqual(text);
    }
    for (const headers of [{}, { 'content-encoding': 'identity' }]) {
      expect(await readBody(fakeRequest([text.subarray(0, 1000), text.subarray(1000)], headers), { maxRawBytes: 4 * KiB })).toEqual(text);
    }
  });

  it('an encoding it does not decode is 415, before a byte is read; gzip too when the caller allows none', () => {
    for (const [encoding, encodings] of [
      ['br', undefined],
      ['deflate', undefined],
      ['gzip, br', undefined],
      ['compress', undefined],
      ['gzip', []],
    ] as const) {
      const req = fakeRequest([Buffer.from('x')], { 'content-encoding': encoding });
      expect(() => decodedBody(req, { maxRawBytes: KiB, ...(encodings ? { encodings } : {}) })).toThrow(
        expect.objectContaining({ status: 415, message: `unsupported Content-Encoding ${JSON.stringify(encoding.trim().toLowerCase())}` }),
      );
      expect(req.reads()).toBe(0);
    }
  });

  it('a body nobody reads any more fails quietly: the dropped connection crashes nothing, a late reader still sees why', async () => {
    const req = fakeRequest([Buffer.alloc(10)]);
    const body = decodedBody(req, { maxRawBytes: KiB });
    // The daemon answered and dropped the connection without reading: no 'error' listener is left.
    req.destroy();
    await new Promise((r) => setTimeout(r, 20));
    expect(body.destroyed).toBe(true);
    expect(body.errored).toMatchObject({ code: 'ERR_STREAM_PREMATURE_CLOSE' });
  });

  it('broken gzip is 400, not a crash or a 500', async () => {
    const good = gzipSync(Buffer.from('hello'));
    for (const body of [Buffer.from('not gzip at all'), good.subarray(0, good.length - 6)]) {
      const error = await refusal(fakeRequest([body], { 'content-encoding': 'gzip' }), { maxRawBytes: KiB });
      expect(error.status).toBe(400);
      expect(error.message).toMatch(/^bad gzip body: /);
    }
  });
});
