/**
 * Request bodies, bounded before and while they are decoded. The raw bytes are counted as they
 * arrive (a declared `Content-Length` over the cap is refused before a byte is read), and a
 * gzip body is inflated as a stream whose output is counted too: a small compressed body that
 * would inflate to gigabytes is cut off at the cap, having never been held in memory whole.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Readable, Transform, type TransformCallback, PassThrough, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';

/** Why a body was refused, with the HTTP status to answer: 413 too large, 415 encoding, 400 bad gzip. */
export class BodyError extends Error {
  override name = 'BodyError';
  readonly status: 400 | 413 | 415;
  constructor(status: 400 | 413 | 415, message: string) {
    super(message);
    this.status = status;
  }
}

export interface BodyLimits {
  /** Bytes on the wire (after chunked decoding, before Content-Encoding). */
  readonly maxRawBytes: number;
  /** Bytes after Content-Encoding is undone; default `maxRawBytes`. */
  readonly maxDecodedBytes?: number;
  /** Content-Encodings accepted besides identity; default gzip. */
  readonly encodings?: readonly ('gzip' | 'x-gzip')[];
}

class Counter extends Transform {
  #seen = 0;
  readonly #max: number;
  readonly #what: string;
  constructor(max: number, what: string) {
    super();
    this.#max = max;
    this.#what = what;
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#seen += chunk.length;
    if (this.#seen > this.#max) done(new BodyError(413, `request body larger than ${this.#max} bytes ${this.#what}`));
    else done(null, chunk);
  }
}

/**
 * The request body as a stream of decoded bytes. It errors with a BodyError as soon as a cap is
 * passed (the request is then left unread: answer, and let the connection go). Synchronous
 * refusals (a declared length over the cap, an unknown encoding) throw.
 */
export function decodedBody(req: IncomingMessage, limits: BodyLimits): Readable {
  const maxDecoded = limits.maxDecodedBytes ?? limits.maxRawBytes;
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limits.maxRawBytes) {
    throw new BodyError(413, `request body larger than ${limits.maxRawBytes} bytes`);
  }
  const encoding = (req.headers['content-encoding'] ?? '').trim().toLowerCase();
  const gzip = encoding === 'gzip' || encoding === 'x-gzip';
  if (encoding !== '' && encoding !== 'identity' && !(gzip && (limits.encodings ?? ['gzip', 'x-gzip']).includes(encoding as 'gzip'))) {
    throw new BodyError(415, `unsupported Content-Encoding ${JSON.stringify(encoding)}`);
  }
  const out = new PassThrough();
  const stages: (NodeJS.ReadableStream | NodeJS.WritableStream)[] = [req, new Counter(limits.maxRawBytes, 'on the wire')];
  if (gzip) stages.push(createGunzip(), new Counter(maxDecoded, 'once decompressed'));
  stages.push(out);
  pipeline(stages, (error) => {
    if (!error) return;
    const refused =
      error instanceof BodyError ? error : (error as { code?: string }).code?.startsWith('Z_') ? new BodyError(400, `bad gzip body: ${error.message}`) : error;
    out.destroy(refused);
  });
  return out;
}

/** The whole decoded body, for requests small enough to hold (their caps say how small). */
export async function readBody(req: IncomingMessage, limits: BodyLimits): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of decodedBody(req, limits) as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/**
 * Answers a refused body (413/415/400, a one-line text) and drops the connection once the
 * answer is out, so the rest of a body that is too large is never read.
 */
export function answerBodyError(req: IncomingMessage, res: ServerResponse, error: BodyError, prefix = ''): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = `${prefix}${error.message}\n`;
  res.writeHead(error.status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(Buffer.byteLength(text)), connection: 'close' });
  res.end(text, () => {
    if (!req.complete) req.destroy();
  });
}
