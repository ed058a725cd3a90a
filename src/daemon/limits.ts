/**
 * The bounds every daemon's HTTP server gets, so a hostile guest (or anything else that reaches
 * the port) can exhaust neither memory nor file descriptors: a cap on open connections, on the
 * size of the request head, and on how long a connection may sit idle or take to send its head
 * or its whole request. Bodies are bounded separately, by `./body.ts`.
 */
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';

export interface ServerLimits {
  /** Open connections at once; more are closed as they arrive. */
  readonly maxConnections: number;
  /** The request line and headers, in bytes. */
  readonly maxHeaderBytes: number;
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
    handler,
  );
  server.maxConnections = l.maxConnections;
  server.maxRequestsPerSocket = l.maxRequestsPerSocket;
  server.maxHeadersCount = 100;
  // Destroys a socket idle for that long, whatever state its request is in.
  server.setTimeout(l.idleTimeoutMs, (socket) => socket.destroy());
  return server;
}
