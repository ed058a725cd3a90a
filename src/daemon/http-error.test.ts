/** How a daemon answers a refused request: one line of text, its status, and the connection closed after it. */
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { BodyError } from './body.ts';
import { answerHttpError, HttpError } from './http-error.ts';
import { boundedServer } from './limits.ts';
import { type Listening, listen } from './listen.ts';

let open: Listening | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
});

/** POSTs `sent` bytes of a body declared as `declared` bytes; resolves with what came back, or the client's error. */
function post(port: number, declared: number, sent: number): Promise<{ status: number; headers: Record<string, unknown>; text: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', headers: { 'content-length': String(declared) } });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      res.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    req.write(Buffer.alloc(sent));
  });
}

describe('answerHttpError', () => {
  it('answers the status, its headers and the prefixed message, then closes the connection; the unread body is dropped', async () => {
    let answered = 0;
    open = await listen(
      boundedServer((req, res) => {
        answered++;
        // Refused before a byte of the body is read, as a cap or a full queue refuses it.
        const error = answered % 2 ? new HttpError(503, 'busy; retry', { 'Retry-After': '1' }) : new BodyError(413, 'too large');
        answerHttpError(req, res, error, 'daemon: ');
      }),
      '127.0.0.1',
    );
    for (let i = 0; i < 10; i++) {
      const got = await post(open.port, 10 * 1024 * 1024, 64 * 1024);
      const expected =
        i % 2 === 0
          ? { status: 503, text: 'daemon: busy; retry\n', headers: { 'retry-after': '1' } }
          : { status: 413, text: 'daemon: too large\n', headers: {} };
      expect(got).toMatchObject({
        ...expected,
        headers: { ...expected.headers, connection: 'close', 'content-type': 'text/plain; charset=utf-8', 'content-length': String(expected.text.length) },
      });
    }
  });

  it('once the answer has begun it can only be cut: the client sees the response broken, not a second status', async () => {
    open = await listen(
      boundedServer((req, res) => {
        res.writeHead(200, { 'content-length': '100' });
        res.write('partial');
        answerHttpError(req, res, new HttpError(500, 'failed midway'));
      }),
      '127.0.0.1',
    );
    const got = await post(open.port, 10, 10);
    expect(got).toMatchObject({ error: expect.stringMatching(/ECONNRESET|aborted/) });
  });
});
