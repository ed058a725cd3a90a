/**
 * Per-bottle daemon credentials: one random bearer token per daemon per bottle, checked in
 * constant time. A request without the right one gets `401` and nothing else: no body, no hint
 * of what the daemon is, so a neighbour learns only that a port is open.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** 256 random bits, base64url: safe in an HTTP header, a git config value and JSON. */
export function newCredential(): string {
  return randomBytes(32).toString('base64url');
}

/** Digests first, so tokens of different lengths compare in constant time too. */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(req: Pick<IncomingMessage, 'headers'>): string | undefined {
  const header = req.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match?.[1];
}

/** True when the request carries `token`; otherwise answers `401` (empty) and returns false. */
export function authorize(req: IncomingMessage, res: ServerResponse, token: string): boolean {
  const given = bearerToken(req);
  if (given !== undefined && sameSecret(given, token)) return true;
  refuse(req, res);
  return false;
}

/** `401`, no body, and the connection closed: an unread request body is dropped, never read. */
export function refuse(req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(401, { 'content-length': '0', connection: 'close' });
  res.end(() => {
    if (!req.complete) req.destroy();
  });
}
