/**
 * Request bodies, bounded before and while they are decoded. The raw bytes are counted as they
 * arrive (a declared `Content-Length` over the cap is refused before a byte is read), and a
 * gzip body is inflated as a stream whose output is counted too: a small compressed body that
 * would inflate to gigabytes is cut off at the cap, having never been held in memory whole.
 */
import type { IncomingMessage } from 'node:http';
import { type Readable, Transform, type TransformCallback, PassThrough, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { HttpError } from './http-error.ts';

/** Why a body was refused, with the HTTP status to answer: 413 too large, 415 encoding, 400 bad gzip. */
export class BodyError extends HttpError {
  override name = 'BodyError';
  declare readonly status: 400 | 413 | 415;
  constructor(status: 400 | 413 | 415, message: string) {
    super(status, message);
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
  const stages: [Readable, ...Transform[]] = [req, new Counter(limits.maxRawBytes, 'on the wire')];
  if (gzip) stages.push(createGunzip(), new Counter(maxDecoded, 'once decompressed'));
  // `out` stays outside the pipeline: the pipeline would destroy it with zlib's own error first,
  // and the reader would see that (a 500) instead of the 400 below.
  const out = new PassThrough();
  // The reader may be gone (it refused the request and dropped the connection): a late error with
  // no listener would crash the daemon. Readers still see it (`finished`, async iteration).
  out.on('error', () => undefined);
  pipeline(stages, (error) => {
    if (!error) return;
    const refused =
      error instanceof BodyError ? error : (error as { code?: string }).code?.startsWith('Z_') ? new BodyError(400, `bad gzip body: ${error.message}`) : error;
    out.destroy(refused);
  });
  (stages.at(-1) as Transform).pipe(out);
  return out;
}

/** The whole decoded body, for requests small enough to hold (their caps say how small). */
export async function readBody(req: IncomingMessage, limits: BodyLimits): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of decodedBody(req, limits) as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}
