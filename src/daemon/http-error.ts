/**
 * A request a daemon refuses: an HTTP status and a one-line reason, answered by `answerHttpError`
 * the same way everywhere (a refused body's `BodyError` is one too).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export class HttpError extends Error {
  override name = 'HttpError';
  readonly status: number;
  /** Extra response headers, e.g. `Retry-After` on a 503. */
  readonly headers: Readonly<Record<string, string>>;
  constructor(status: number, message: string, headers: Readonly<Record<string, string>> = {}) {
    super(message);
    this.status = status;
    this.headers = headers;
  }
}

/**
 * Answers `error` (its status, `prefix` + its message as one line of text) and closes the
 * connection once the answer is out: destroying it sooner can lose the answer to a reset, and an
 * unread request body (one too large, say) is then dropped, never read. When the response has
 * already begun, it can only be cut.
 */
export function answerHttpError(req: IncomingMessage, res: ServerResponse, error: HttpError, prefix = ''): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = `${prefix}${error.message}\n`;
  res.writeHead(error.status, {
    ...error.headers,
    'content-type': 'text/plain; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    connection: 'close',
  });
  res.end(text, () => {
    if (!req.complete) req.destroy();
  });
}
