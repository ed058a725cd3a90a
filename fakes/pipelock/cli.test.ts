// The pipelock test double, in process (integration/fakes runs fakes/bin/pipelock itself).
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../../src/daemon/daemon.ts';
import { pipelockConfigYaml } from '../../src/daemons/pipelock/config.ts';
import { type PipelockIo, runPipelock } from './cli.ts';

let work: string;
const cleanups: (() => Promise<unknown>)[] = [];
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'fake-pipelock-'));
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await rm(work, { recursive: true, force: true });
});

function captured(): PipelockIo & { out: string; err: string } {
  const io = { out: '', err: '', stdout: { write: (t: string) => (io.out += t) }, stderr: { write: (t: string) => (io.err += t) } };
  return io;
}

/** `pipelock …argv` to its end: exit code, stdout, stderr. */
async function pipelock(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = captured();
  const outcome = await runPipelock(argv, io);
  if (typeof outcome !== 'number') {
    await outcome.close();
    throw new Error(`pipelock ${argv.join(' ')} kept running`);
  }
  return { code: outcome, stdout: io.out, stderr: io.err };
}

async function configFile(text: string): Promise<string> {
  const path = join(work, `c-${cleanups.length}-${Math.random().toString(16).slice(2)}.yaml`);
  await writeFile(path, text);
  return path;
}

/** Runs `pipelock run --config` expecting a startup failure: its exit code and stderr. */
async function refuses(text: string): Promise<{ code: number; stderr: string }> {
  return pipelock('run', '--config', await configFile(text));
}

/** Starts the fake on a free port; resolves once /health answers. */
async function startFake(text: (listen: string) => string): Promise<{ port: number; log: () => string }> {
  const port = await freePort('127.0.0.1');
  const path = await configFile(text(`127.0.0.1:${port}`));
  const io = captured();
  const running = await runPipelock(['run', '-c', path], io);
  if (typeof running === 'number') throw new Error(`fake pipelock did not start: ${io.err}`);
  cleanups.push(() => running.close());
  const health = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) });
  expect(health.ok).toBe(true);
  return { port, log: () => io.err };
}

/** An absolute-URI GET through the proxy. */
function getVia(proxyPort: number, url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: proxyPort, method: 'GET', path: url, timeout: 5000, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

describe('fake pipelock: argv and strict config loading', () => {
  it('--version and `version` print the version', async () => {
    expect(await pipelock('--version')).toEqual({ code: 0, stdout: expect.stringMatching(/^pipelock version \S+\n$/), stderr: '' });
    expect((await pipelock('version')).stdout).toMatch(/^pipelock version /);
    expect(await pipelock('frobnicate')).toMatchObject({ code: 1, stderr: expect.stringContaining('unknown command "frobnicate"') });
  });

  it('unknown keys are refused with the line and the Go type, at the top level and nested', async () => {
    const top = await refuses('version: 1\nmode: balanced\nallow_hosts:\n  - a.com\n');
    expect(top.code).toBe(1);
    expect(top.stderr).toMatch(/parsing config .*: yaml: unmarshal errors:\n {2}line 3: field allow_hosts not found in type config\.Config/);
    const nested = await refuses('version: 1\nfetch_proxy:\n  listen: "127.0.0.1:1"\n  listen_addr: x\n');
    expect(nested.stderr).toMatch(/line 4: field listen_addr not found in type config\.FetchProxy/);
    const tls = await refuses('tls_interception:\n  enabled: false\n  ca_path: /x\n');
    expect(tls.stderr).toMatch(/field ca_path not found in type config\.TLSInterception/);
  });

  it('multiple documents, a bad mode, strict without an allowlist, bad CIDRs and missing CA files are refused', async () => {
    expect((await refuses('version: 1\n---\nmode: audit\n')).stderr).toMatch(/multiple YAML documents not supported/);
    expect((await refuses('mode: paranoid\n')).code).toBe(1);
    expect((await refuses('mode: strict\n')).stderr).toMatch(/strict mode requires at least one domain in api_allowlist/);
    expect((await refuses('ssrf:\n  ip_allowlist: ["10.0.0.5/24"]\n')).stderr).toMatch(/host bits set/);
    expect((await refuses(`tls_interception:\n  enabled: true\n  ca_cert: ${join(work, 'none.pem')}\n  ca_key: ${join(work, 'none.key')}\n`)).stderr).toMatch(
      /ca_cert not found at/,
    );
    expect(await pipelock('run', '--bogus')).toMatchObject({ code: 1, stderr: expect.stringMatching(/unknown flag: --bogus/) });
    expect(await pipelock('run', '--config')).toMatchObject({ code: 1, stderr: expect.stringMatching(/flag needs an argument: --config/) });
  });

  it('the config claude-bottle generates loads', async () => {
    const { port } = await startFake((listen) => pipelockConfigYaml({ listen, allowHosts: ['localhost'] }));
    const health = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) });
    expect(await health.json()).toMatchObject({ status: 'healthy', mode: 'strict', forward_proxy_enabled: true });
  });
});

describe('fake pipelock: the forward proxy', () => {
  let upstream: Server;
  let upstreamPort: number;
  beforeEach(async () => {
    upstream = createServer((req, res) => res.end(`upstream saw ${req.method} ${req.url} host=${req.headers.host}`));
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    upstreamPort = (upstream.address() as { port: number }).port;
    cleanups.push(() => new Promise((r) => upstream.close(r)));
  });

  it('absolute-URI requests: allowed host and exempt CIDR pass, anything else is 403', async () => {
    const { port, log } = await startFake((listen) => pipelockConfigYaml({ listen, allowHosts: ['localhost'], allowCidrs: ['127.0.0.0/8'] }));
    expect(await getVia(port, `http://localhost:${upstreamPort}/x?y=1`)).toEqual({
      status: 200,
      body: `upstream saw GET /x?y=1 host=localhost:${upstreamPort}`,
    });
    expect((await getVia(port, `http://other.invalid:${upstreamPort}/`)).status).toBe(403);
    // Each decision is a JSON line on stderr.
    const events = log()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { event: string; url?: string });
    expect(events.map((e) => e.event)).toEqual(['listening', 'allowed', 'blocked']);
    expect(events[2]?.url).toBe(`http://other.invalid:${upstreamPort}/`);
  });

  it('balanced mode still blocks internal addresses (SSRF) and blocklisted hosts; audit mode lets all through', async () => {
    const balanced = await startFake(
      (listen) => `mode: balanced\nfetch_proxy:\n  listen: "${listen}"\n  monitoring:\n    blocklist: ["*.bad.test"]\nforward_proxy:\n  enabled: true\n`,
    );
    const ssrf = await getVia(balanced.port, `http://localhost:${upstreamPort}/`);
    expect(ssrf).toMatchObject({ status: 403, body: expect.stringContaining('SSRF') });
    expect((await getVia(balanced.port, 'http://x.bad.test/')).status).toBe(403);
    const audit = await startFake((listen) => `mode: audit\nfetch_proxy:\n  listen: "${listen}"\nforward_proxy:\n  enabled: true\n`);
    expect((await getVia(audit.port, `http://localhost:${upstreamPort}/`)).status).toBe(200);
  });

  it('with forward_proxy off, absolute-URI requests are 405 (as pipelock answers)', async () => {
    const { port } = await startFake((listen) => `mode: audit\nfetch_proxy:\n  listen: "${listen}"\n`);
    expect(await getVia(port, `http://localhost:${upstreamPort}/`)).toMatchObject({ status: 405, body: expect.stringContaining('forward proxy not enabled') });
  });
});
