import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostForUrl } from './daemon.ts';

export interface Listening {
  readonly port: number;
  /** The host as it goes in a URL (`[v6]` bracketed). */
  readonly hostInUrl: string;
  /** Closes the server and drops open connections; idempotent. */
  close(): Promise<void>;
}

/** Binds `server` to exactly `host:port` (0: a free port). Exclusive, so two bottles never share a port. */
export async function listen(server: Server, host: string, port = 0): Promise<Listening> {
  server.listen({ host, port, exclusive: true });
  await once(server, 'listening');
  let closed: Promise<void> | undefined;
  return {
    port: (server.address() as AddressInfo).port,
    hostInUrl: hostForUrl(host),
    close: () =>
      (closed ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      })),
  };
}
