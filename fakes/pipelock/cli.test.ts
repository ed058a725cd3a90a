import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../../src/daemon/daemon.ts';
import { pipelockConfigYaml } from '../../src/daemons/pipelock/config.ts';

const BIN = fileURLToPath(new URL('../bin/pipelock', import.meta.url));
const run = promisify(execFile);

let work: string;
const cleanups: (() => Promise<unknown>)[] = [];
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'fake-pipelock-'));
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await rm(work, { recursive: true, force: true });
});

async function configFile(text: string): Promise<string> {
  const path = join(work, `c-${cleanups.length}-${Math.random().toString(16).slice(2)}.yaml`);
  await writeFile(path, text);
  return path;
}

/** Runs `pipelock run --config` expecting a startup failure: its exit code and stderr. */
async function refuses(text: string): Promise<{ code: number; stderr: string }> {
  const path = await configFile(text);
  return run(BIN, ['run', '--config', path], { timeout: 10_000 }).then(
    () => ({ code: 0, stderr: '' }),
    (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
  );
}

/** Starts the fake on a free port; resolves once /health answers. */
async function startFake(text: (listen: string) => string): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort('127.0.0.1');
  const path = await configFile(text(`127.0.0.1:${port}`));
  const child = spawn(BIN, ['run', '-c', path], { stdio: ['ignore', 'ignore', 'pipe'] });
  cleanups.push(async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  for (const deadline = Date.now() + 10_000; ; ) {
    const ok = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(500) }).then((r) => r.ok, () => false);
    if (ok) break;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`fake pipelock did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { port, child };
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
    expect((await run(BIN, ['--version'])).stdout).toMatch(/^pipelock version \S+\n$/);
    expect((await run(BIN, ['version'])).stdout).toMatch(/^pipelock version /);
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
    expect((await run(BIN, ['run', '--bogus']).catch((e: { stderr: string }) => e)).stderr).toMatch(/unknown flag: --bogus/);
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
    const { port } = await startFake((listen) => pipelockConfigYaml({ listen, allowHosts: ['localhost'], allowCidrs: ['127.0.0.0/8'] }));
    expect(await getVia(port, `http://localhost:${upstreamPort}/x?y=1`)).toEqual({ status: 200, body: `upstream saw GET /x?y=1 host=localhost:${upstreamPort}` });
    expect((await getVia(port, `http://other.invalid:${upstreamPort}/`)).status).toBe(403);
  });

  it('balanced mode still blocks internal addresses (SSRF) and blocklisted hosts; audit mode lets all through', async () => {
    const balanced = await startFake((listen) => `mode: balanced\nfetch_proxy:\n  listen: "${listen}"\n  monitoring:\n    blocklist: ["*.bad.test"]\nforward_proxy:\n  enabled: true\n`);
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
