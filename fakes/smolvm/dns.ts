/**
 * `--allow-host` resolution, as `src/smolfile.rs::resolve_host_to_cidrs` (smolvm v1.9.2) does it:
 * an IP literal is taken as is, `host:port` is refused by syntax, a name goes to the resolver
 * under a 10-second bound. The resolver is injectable so tests never touch the host's DNS; the
 * default is hermetic (see `fakeResolver`), and `systemResolver` asks the host's.
 */
import { lookup } from 'node:dns/promises';
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import * as t from './texts.ts';

/**
 * Resolves a host name to its addresses. Reject with an `Error` whose message is what Rust's
 * `io::Error` would display (e.g. `failed to lookup address information: …`).
 */
export type HostResolver = (host: string, signal: AbortSignal) => Promise<readonly string[]>;

/** smolfile.rs: `recv_timeout(Duration::from_secs(10))`. */
export const DNS_TIMEOUT_MS = 10_000;

/** `getaddrinfo`'s EAI_NONAME text as Rust shows it: `gai_strerror` differs between libcs. */
export function noSuchHost(platform: NodeJS.Platform = process.platform): string {
  return `failed to lookup address information: ${platform === 'darwin' ? 'nodename nor servname provided, or not known' : 'Name or service not known'}`;
}

/**
 * The default: no packets leave the machine. `localhost` is loopback; a name that is not a
 * valid DNS name, or lies under `.invalid` (RFC 6761: never resolves), fails like an unknown
 * name; every other name resolves to one stable address in TEST-NET-2 (RFC 5737).
 */
export const fakeResolver: HostResolver = async (host) => {
  const name = host.toLowerCase().replace(/\.$/, '');
  if (name === 'localhost') return ['127.0.0.1', '::1'];
  const labels = name.split('.');
  const valid = name.length <= 253 && labels.every((l) => /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/.test(l));
  if (!valid || labels.at(-1) === 'invalid') throw new Error(noSuchHost());
  const octet = (createHash('sha256').update(name).digest()[0] ?? 0) % 254;
  return [`198.51.100.${octet + 1}`];
};

/** The host's resolver (`getaddrinfo` through Node), for a fake that should see real DNS. */
export const systemResolver: HostResolver = async (host) => {
  try {
    return (await lookup(host, { all: true })).map((a) => a.address);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ENOTFOUND' || code === 'ENODATA') throw new Error(noSuchHost());
    throw new Error(`failed to lookup address information: ${(error as Error).message}`);
  }
};

/** `IpNet::from(ip).to_string()`: a host route. */
function hostCidr(ip: string): string {
  return `${ip}/${isIP(ip) === 6 ? 128 : 32}`;
}

/** The CIDRs `host` allows, or the reason smolvm gives for refusing it. */
export async function resolveHostToCidrs(
  host: string,
  resolve: HostResolver,
  timeoutMs: number = DNS_TIMEOUT_MS,
): Promise<{ readonly cidrs: readonly string[] } | { readonly error: string }> {
  if (isIP(host)) return { cidrs: [hostCidr(host)] };
  if (host.includes(':')) return { error: t.allowHostPortSuffix(host) };
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<'timeout'>((done) => {
    timer = setTimeout(() => {
      controller.abort();
      done('timeout');
    }, timeoutMs);
  });
  try {
    const answer = await Promise.race([resolve(host, controller.signal), expired]);
    if (answer === 'timeout') return { error: t.allowHostTimedOut(host) };
    if (answer.length === 0) return { error: t.allowHostNoAddresses(host) };
    return { cidrs: answer.map(hostCidr) };
  } catch (error) {
    return { error: t.allowHostUnresolved(host, (error as Error).message) };
  } finally {
    clearTimeout(timer);
  }
}
