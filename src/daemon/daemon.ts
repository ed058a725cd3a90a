/**
 * Host-side daemons that run beside a bottle (the "bundle"): the pipelock egress proxy, the git
 * gate and the supervise MCP server. Each is a `DaemonSpec` — a name and a `start(host, port)` —
 * so any of them plugs into `startBundle` the same way. This module holds the pieces every daemon
 * shares: a free port on the one address the daemon binds, the address a guest dials to reach
 * the host, and the probe a guest runs to prove it does.
 */
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { ConfigError } from '../errors.ts';

export type DaemonName = 'pipelock' | 'git-gate' | 'supervise' | (string & {});

/** A running daemon. `stop()` is idempotent. */
export interface Daemon {
  readonly name: DaemonName;
  /** The address it is bound to (never a wildcard unless asked for). */
  readonly host: string;
  readonly port: number;
  /** How the host reaches it, e.g. `http://127.0.0.1:41234` or `http://10.0.0.1:41234/mcp`. */
  readonly url: string;
  /** A path answering 200 to a plain GET, for guest probes that speak HTTP. */
  readonly healthPath?: string;
  stop(): Promise<void>;
}

/** What `start` hands back: the daemon's URL on the host and how to stop it. */
export interface StartedDaemon {
  readonly url: string;
  stop(): Promise<void>;
}

/** How to start one daemon on a given address and port; the git gate plugs in here too. */
export interface DaemonSpec {
  readonly name: DaemonName;
  /** A path answering 200 to a plain GET once started; default `/health`. */
  readonly healthPath?: string;
  /** Bind exactly `host:port`; resolve once it accepts connections. */
  start(host: string, port: number): Promise<StartedDaemon>;
}

const WILDCARDS = new Set(['0.0.0.0', '::', '[::]', '']);

export function isWildcardAddress(host: string): boolean {
  return WILDCARDS.has(host);
}

/** `[::1]` for IPv6 literals, the host unchanged otherwise: for URLs and `host:port` strings. */
export function hostForUrl(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/**
 * A port that is free on `host` right now: bind port 0 there, read it, release it. Another
 * process may take it before the daemon binds it; `startBundle` retries once on EADDRINUSE.
 */
export async function freePort(host: string): Promise<number> {
  const server = createServer();
  server.unref();
  server.listen({ host, port: 0, exclusive: true });
  try {
    await once(server, 'listening');
  } catch (error) {
    throw new ConfigError(`cannot bind ${host}: ${error instanceof Error ? error.message : String(error)}`, [{ path: 'host', message: String(error) }]);
  }
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * The argv a guest runs to prove it reaches `daemon` at `hostAlias:port`: exit 0 and
 * `reachable via <tool>` on stdout, else exit 1 and `<name>: cannot reach …` on stderr. It
 * tries whatever the guest has: `nc -z`, `curl`, `wget` on the daemon's health path (any HTTP
 * status line means reachable: the daemons answer 401 without the bottle's credential, which the
 * probe never carries; bounded by `timeout`: Debian's static busybox wget crashes with `-T`),
 * bash's `/dev/tcp`, then `node`. Only `;`, `&&` and `exit`, so the smallest `sh` (and the fake's) runs
 * it; host, port, name and path travel as arguments, never spliced into the script.
 */
export function guestProbe(daemon: Pick<Daemon, 'name' | 'port'> & { readonly healthPath?: string }, hostAlias: string): string[] {
  const script = [
    'nc -z -w 3 "$1" "$2" && echo "reachable via nc" && exit 0',
    'curl -s -o /dev/null -m 3 "http://$1:$2/" && echo "reachable via curl" && exit 0',
    'timeout 5 wget -S -O /dev/null "http://$1:$2$4" 2>&1 | grep -q "HTTP/1" && echo "reachable via wget" && exit 0',
    `bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" && echo "reachable via bash" && exit 0`,
    `node -e 'const s=require("net").connect(+process.argv[2],process.argv[1]);s.setTimeout(3000,()=>process.exit(1));s.on("connect",()=>process.exit(0));s.on("error",()=>process.exit(1))' "$1" "$2" && echo "reachable via node" && exit 0`,
    'echo "$3: cannot reach $1:$2" >&2',
    'exit 1',
  ].join('; ');
  return ['sh', '-c', script, 'probe', hostAlias, String(daemon.port), daemon.name, daemon.healthPath ?? '/health'];
}
