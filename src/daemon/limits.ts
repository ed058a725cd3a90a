/**
 * The bounds every daemon's HTTP server gets, so a hostile guest (or anything else that reaches
 * the port) can exhaust neither memory nor file descriptors: a cap on open connections, on the
 * size of the request head and its number of headers (431), and on how long a connection may sit
 * idle or take to send its head or its whole request (408). Bodies are bounded separately, by
 * `./body.ts`; work a request starts (the git gate's git processes), by `Slots`.
 */
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { answerHttpError, HttpError } from './http-error.ts';

export interface ServerLimits {
  /** Open connections at once; more are closed as they arrive. */
  readonly maxConnections: number;
  /** The request line and headers, in bytes (more: `431`). */
  readonly maxHeaderBytes: number;
  /** Request headers, counted (more: `431`). */
  readonly maxHeaders: number;
  /** Time to receive the request head, from the connection's start (or the previous request). */
  readonly headersTimeoutMs: number;
  /** Time to receive the whole request, body included. */
  readonly requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  readonly keepAliveTimeoutMs: number;
  /** A connection with no traffic in either direction for this long is destroyed. */
  readonly idleTimeoutMs: number;
  /** Requests served on one connection before it is closed. */
  readonly maxRequestsPerSocket: number;
}

export const DEFAULT_SERVER_LIMITS: ServerLimits = {
  maxConnections: 64,
  maxHeaderBytes: 16 * 1024,
  maxHeaders: 100,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 120_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 60_000,
  maxRequestsPerSocket: 1000,
};

/** An HTTP server with `limits` applied (any missing field from `DEFAULT_SERVER_LIMITS`). */
export function boundedServer(handler: RequestListener<typeof IncomingMessage, typeof ServerResponse>, limits: Partial<ServerLimits> = {}): Server {
  const l = { ...DEFAULT_SERVER_LIMITS, ...limits };
  const server = createServer(
    {
      maxHeaderSize: l.maxHeaderBytes,
      headersTimeout: l.headersTimeoutMs,
      requestTimeout: l.requestTimeoutMs,
      keepAliveTimeout: l.keepAliveTimeoutMs,
      // Node checks the two timeouts above on this period (default 30 s): keep it short so a
      // connection that never sends its head is dropped close to `headersTimeoutMs`.
      connectionsCheckingInterval: Math.min(1000, l.headersTimeoutMs),
    },
    (req, res) => {
      if (req.rawHeaders.length / 2 > l.maxHeaders) answerHttpError(req, res, new HttpError(431, `more than ${l.maxHeaders} request headers`));
      else handler(req, res);
    },
  );
  server.maxConnections = l.maxConnections;
  server.maxRequestsPerSocket = l.maxRequestsPerSocket;
  // Node drops headers past this count silently: keep one more than allowed, to see them and refuse.
  server.maxHeadersCount = l.maxHeaders + 1;
  // Destroys a socket idle for that long, whatever state its request is in.
  server.setTimeout(l.idleTimeoutMs, (socket) => socket.destroy());
  return server;
}

/** How many requests of one kind run at once, and how many may wait for a turn. */
export interface ConcurrencyLimits {
  readonly maxRunning: number;
  /** Beyond this many waiting, `take` refuses at once (the caller answers 503). */
  readonly maxWaiting: number;
}

/** The git gate's backends (each a `git http-backend` and its pack-objects or receive-pack). */
export const DEFAULT_BACKEND_CONCURRENCY: ConcurrencyLimits = { maxRunning: 4, maxWaiting: 32 };

/**
 * A counting semaphore with a bounded FIFO of waiters. Waiting rather than refusing outright
 * because git does not retry a 503: a bottle that clones twice at once should be slowed, not
 * failed. The wait is bounded by `maxWaiting` here and by the server's timeouts on the waiting
 * connections.
 */
export class Slots {
  readonly #limits: ConcurrencyLimits;
  #running = 0;
  readonly #waiting = new Set<() => void>();
  constructor(limits: ConcurrencyLimits) {
    this.#limits = limits;
  }
  get running(): number {
    return this.#running;
  }
  get waiting(): number {
    return this.#waiting.size;
  }
  /**
   * A release function once a slot is the caller's (call it exactly once); undefined at once when
   * `maxWaiting` callers wait already. Rejects with the abort reason when `signal` aborts first.
   */
  async take(signal?: AbortSignal): Promise<(() => void) | undefined> {
    signal?.throwIfAborted();
    if (this.#running < this.#limits.maxRunning && this.#waiting.size === 0) {
      this.#running++;
      return this.#releaser();
    }
    if (this.#waiting.size >= this.#limits.maxWaiting) return undefined;
    await new Promise<void>((resolve, reject) => {
      const wake = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        this.#waiting.delete(wake);
        reject(signal?.reason);
      };
      this.#waiting.add(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    // The releaser handed its slot over: `running` already counts this caller.
    return this.#releaser();
  }
  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.values().next();
      if (next.done) {
        this.#running--;
        return;
      }
      this.#waiting.delete(next.value);
      next.value();
    };
  }
}
