/**
 * A test double of the `pipelock` binary (luckyPipewrench/pipelock), which no package registry
 * ships. It takes the documented argv — `pipelock run --config <file>` (`-c`, `--listen`/`-l`),
 * `pipelock --version`, `pipelock version` — and loads the config the way pipelock does: one YAML
 * document, strict (an unknown key anywhere in a modelled section is a startup error naming the
 * line and field, like yaml.v3's `KnownFields(true)`), then the semantic checks of `validate.go`.
 *
 * It then serves what a bottle needs on `fetch_proxy.listen`: a forward proxy (CONNECT tunnels and
 * absolute-URI requests, when `forward_proxy.enabled`) that lets through only what the policy
 * allows — strict mode: `api_allowlist` hosts only; every mode but audit: the monitoring
 * blocklist and the SSRF check (an address in `internal` is refused unless its host is in
 * `trusted_domains` or the address in `ssrf.ip_allowlist`) — and answers 403 otherwise, plus
 * `GET /health`. It scans nothing and never intercepts TLS. Decisions go to stderr as JSON lines.
 */
import { readFileSync, statSync } from 'node:fs';
import { lookup } from 'node:dns/promises';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, isIP, type Socket } from 'node:net';
import { LineCounter, parseAllDocuments, isMap, isScalar, type Document } from 'yaml';
import {
  cidrContains,
  domainMatches,
  parseCidr,
  parseIp,
  pipelockConfigProblem,
  PipelockConfigSchema,
  PIPELOCK_DEFAULT_INTERNAL,
  PIPELOCK_DEFAULT_LISTEN,
  splitHostPort,
  type PipelockConfigFile,
} from '../../src/daemons/pipelock/schema.ts';

export const FAKE_PIPELOCK_VERSION = '0.0.0-fake';

/** Go type names for the error text, as yaml.v3 prints them (`field x not found in type config.FetchProxy`). */
const GO_TYPES: Record<string, string> = {
  '': 'config.Config',
  fetch_proxy: 'config.FetchProxy',
  'fetch_proxy.monitoring': 'config.Monitoring',
  forward_proxy: 'config.ForwardProxy',
  tls_interception: 'config.TLSInterception',
  ssrf: 'config.SSRF',
};

class CliError extends Error {}

export function loadConfig(path: string): PipelockConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new CliError(`reading config ${path}: ${(error as Error).message}`);
  }
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, uniqueKeys: true });
  if (!Array.isArray(docs)) throw new CliError(`parsing config ${path}: yaml: empty stream`);
  const [doc, ...extra] = docs;
  if (extra.length) throw new CliError(`parsing config ${path}: multiple YAML documents not supported (pipelock config must be a single document)`);
  if (!doc) return {};
  const firstError = doc.errors[0];
  if (firstError) throw new CliError(`parsing config ${path}: yaml: ${firstError.message}`);
  const raw: unknown = doc.toJS() ?? {};
  const parsed = PipelockConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const at = issue.path.map(String);
      if (issue.code === 'unrecognized_keys') {
        return issue.keys
          .map((key) => `  line ${lineOf(doc, lineCounter, [...at, key])}: field ${key} not found in type ${GO_TYPES[at.join('.')] ?? 'struct'}`)
          .join('\n');
      }
      return `  line ${lineOf(doc, lineCounter, at)}: cannot unmarshal ${at.join('.')}: ${issue.message}`;
    });
    throw new CliError(`parsing config ${path}: yaml: unmarshal errors:\n${lines.join('\n')}`);
  }
  const config = parsed.data;
  const problem = pipelockConfigProblem(config);
  if (problem) throw new CliError(`invalid config: ${problem}`);
  const tls = config.tls_interception;
  if (tls?.enabled) {
    for (const [key, file] of [
      ['ca_cert', tls.ca_cert],
      ['ca_key', tls.ca_key],
    ] as const) {
      try {
        if (!file) throw new Error('empty path (the real pipelock falls back to ~/.pipelock; this double does not)');
        statSync(file);
      } catch (error) {
        throw new CliError(`invalid config: tls_interception: ${key} not found at ${file ?? ''} (run 'pipelock tls init'): ${(error as Error).message}`);
      }
    }
  }
  return config;
}

function lineOf(doc: Document, counter: LineCounter, path: readonly string[]): number {
  let node: unknown = doc.contents;
  let offset = 0;
  for (const key of path) {
    if (!isMap(node)) break;
    const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
    if (!pair) break;
    offset = isScalar(pair.key) ? (pair.key.range?.[0] ?? offset) : offset;
    node = pair.value;
  }
  return counter.linePos(offset).line;
}

interface Decision {
  readonly allow: boolean;
  readonly reason: string;
  readonly address?: string;
}

export function createPolicy(config: PipelockConfigFile): (host: string) => Promise<Decision> {
  const mode = config.mode ?? 'balanced';
  const enforce = config.enforce ?? true;
  const allowlist = config.api_allowlist ?? [];
  const blocklist = config.fetch_proxy?.monitoring?.blocklist ?? [];
  const trusted = config.trusted_domains ?? [];
  const internal = (config.internal ?? [...PIPELOCK_DEFAULT_INTERNAL]).map((c) => parseCidr(c)!);
  const ipAllow = (config.ssrf?.ip_allowlist ?? []).map((c) => parseCidr(c)!);
  return async (rawHost) => {
    const host = rawHost.replace(/^\[|\]$/g, '');
    const verdict = (allow: boolean, reason: string, address?: string): Decision => ({
      allow: allow || mode === 'audit' || !enforce,
      reason,
      ...(address ? { address } : {}),
    });
    if (mode === 'strict' && !allowlist.some((p) => domainMatches(p, host))) return verdict(false, 'domain not in api_allowlist (strict mode)');
    if (blocklist.some((p) => domainMatches(p, host))) return verdict(false, 'domain blocklisted');
    let address: string;
    try {
      address = isIP(host) ? host : (await lookup(host)).address;
    } catch {
      return verdict(false, `DNS lookup failed for ${host}`);
    }
    const ip = parseIp(address)!;
    const isInternal = internal.some((c) => cidrContains(c, ip));
    if (isInternal && !trusted.some((p) => domainMatches(p, host)) && !ipAllow.some((c) => cidrContains(c, ip))) {
      return verdict(false, `SSRF: ${address} is internal (add it to ssrf.ip_allowlist or the host to trusted_domains)`, address);
    }
    return verdict(true, 'allowed', address);
  };
}

/** Where pipelock writes: decisions go to stderr as JSON lines. Injectable, so tests run it in process. */
export interface PipelockIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
}

function logTo(io: PipelockIo): (event: Record<string, unknown>) => void {
  return (event) => io.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`);
}

function deny(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ blocked: status === 403, error: message }));
}

export async function serve(config: PipelockConfigFile, listenOverride?: string, io: PipelockIo = process): Promise<() => Promise<void>> {
  const log = logTo(io);
  const listen = listenOverride ?? (config.fetch_proxy?.listen || PIPELOCK_DEFAULT_LISTEN);
  const address = splitHostPort(listen);
  if (!address) throw new CliError(`invalid listen address "${listen}"`);
  const policy = createPolicy(config);
  const forward = config.forward_proxy?.enabled ?? false;

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    if (/^https?:\/\//i.test(url)) {
      if (!forward) return deny(res, 405, 'forward proxy not enabled');
      const target = new URL(url);
      void policy(target.hostname).then((decision) => {
        log({ event: decision.allow ? 'allowed' : 'blocked', method: req.method, url, reason: decision.reason });
        if (!decision.allow) return deny(res, 403, `blocked: ${decision.reason}`);
        const upstream = httpRequest(
          {
            host: decision.address ?? target.hostname,
            port: target.port || 80,
            method: req.method,
            path: `${target.pathname}${target.search}`,
            headers: { ...req.headers, host: target.host },
          },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        upstream.on('error', (error) => deny(res, 502, `upstream: ${error.message}`));
        req.pipe(upstream);
      });
      return;
    }
    if (req.method === 'GET' && url.split('?')[0] === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'healthy', version: FAKE_PIPELOCK_VERSION, mode: config.mode ?? 'balanced', forward_proxy_enabled: forward }));
      return;
    }
    if (url.startsWith('/fetch')) return deny(res, 501, 'the fetch proxy is not implemented by this test double');
    deny(res, 404, 'not found');
  });

  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    const reply = (status: string, body = ''): void => {
      client.end(`HTTP/1.1 ${status}\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    };
    client.on('error', () => undefined);
    if (!forward) return reply('405 Method Not Allowed', 'CONNECT not supported\n');
    const target = splitHostPort(req.url ?? '');
    if (!target) return reply('400 Bad Request', 'CONNECT target must be host:port\n');
    void policy(target.host).then((decision) => {
      log({ event: decision.allow ? 'allowed' : 'blocked', method: 'CONNECT', target: req.url, reason: decision.reason });
      if (!decision.allow) return reply('403 Forbidden', `blocked: ${decision.reason}\n`);
      const upstream = connect(target.port, decision.address ?? target.host, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        if (head.length) upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      upstream.on('error', (error) => (client.writable ? reply('502 Bad Gateway', `upstream: ${error.message}\n`) : client.destroy()));
      client.on('close', () => upstream.destroy());
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: address.host || undefined, port: address.port, exclusive: true }, () => resolve());
  });
  log({ event: 'listening', listen, mode: config.mode ?? 'balanced', forward_proxy: forward });
  return () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
}

/** A `pipelock run` that is serving: `close()` stops it. */
export interface RunningPipelock {
  close(): Promise<void>;
}

/** Runs `pipelock …argv`: the exit code of a command that ends, or the running proxy of `run`. */
export async function runPipelock(argv: readonly string[], io: PipelockIo = process): Promise<number | RunningPipelock> {
  try {
    const [command, ...rest] = argv;
    if (command === '--version' || command === '-v' || command === 'version') {
      io.stdout.write(`pipelock version ${FAKE_PIPELOCK_VERSION}\n`);
      return 0;
    }
    if (command !== 'run') throw new CliError(`unknown command "${command ?? ''}" for "pipelock" (this test double knows: run, version, --version)`);
    let configPath: string | undefined;
    let listen: string | undefined;
    for (let i = 0; i < rest.length; i++) {
      const arg = rest[i]!;
      const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
      const value = (): string => {
        const v = inline ?? rest[++i];
        if (v === undefined) throw new CliError(`flag needs an argument: ${flag}`);
        return v;
      };
      if (flag === '--config' || flag === '-c') configPath = value();
      else if (flag === '--listen' || flag === '-l') listen = value();
      else throw new CliError(`unknown flag: ${flag}`);
    }
    const config = configPath ? loadConfig(configPath) : {};
    return { close: await serve(config, listen, io) };
  } catch (error) {
    io.stderr.write(`Error: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const outcome = await runPipelock(argv);
  if (typeof outcome === 'number') {
    process.exitCode = outcome;
    return;
  }
  const shutdown = (): void => {
    void outcome.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}
