import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../errors.ts';
import { CALL_LOG_FILE, CallLog, mcpConfigFor, startSuperviseServer, superviseDaemon, type SuperviseServer } from './server.ts';

const servers: SuperviseServer[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function start(options: Parameters<typeof startSuperviseServer>[0] = {}): Promise<SuperviseServer> {
  const server = await startSuperviseServer(options);
  servers.push(server);
  return server;
}

/** What Claude Code sends: POST, JSON, accepting JSON or SSE, with the MCP config's Authorization header. */
async function post(
  server: SuperviseServer,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; type: string | null; json: unknown; text: string }> {
  const res = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${server.token}`, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, type: res.headers.get('content-type'), text, json };
}

const call = (name: string, args: unknown, id: number | string = 1) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });

/** A raw request whose body is sent chunked (no Content-Length): the server cannot refuse it up front. */
function chunked(server: SuperviseServer, chunks: readonly Buffer[], headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const url = new URL(server.url);
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    const write = (i: number): void => {
      if (i >= chunks.length) return void req.end();
      if (req.destroyed) return;
      req.write(chunks[i], () => write(i + 1));
    };
    write(0);
  });
}

describe('supervise MCP server (the SDK, streamable HTTP)', () => {
  it('the handshake, tools/list and a tool call, as Claude Code performs them; every call is recorded', async () => {
    const server = await start();
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    expect(server.token).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const init = await post(server, {
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: { roots: {} }, clientInfo: { name: 'claude-code', version: '2.1.0' } },
    });
    expect(init.status).toBe(200);
    expect(init.type).toMatch(/^application\/json/);
    expect(init.json).toMatchObject({
      jsonrpc: '2.0',
      id: 0,
      result: { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'supervise', version: expect.any(String) } },
    });

    const initialized = await post(server, { jsonrpc: '2.0', method: 'notifications/initialized' }, { 'mcp-protocol-version': '2025-06-18' });
    expect([initialized.status, initialized.text]).toEqual([202, '']);

    const list = await post(server, { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }, { 'mcp-protocol-version': '2025-06-18' });
    const tools = (list.json as { result: { tools: { name: string; inputSchema: Record<string, unknown> }[] } }).result.tools;
    expect(tools.map((t) => t.name)).toEqual(['report_progress', 'request_review']);
    expect(tools[0]?.inputSchema).toMatchObject({
      type: 'object',
      required: ['summary'],
      additionalProperties: false,
      properties: { summary: { type: 'string' } },
    });
    expect(tools[1]?.inputSchema).toMatchObject({
      type: 'object',
      required: ['summary'],
      additionalProperties: false,
      properties: { summary: { type: 'string' }, question: { type: 'string' } },
    });

    const done = await post(server, call('report_progress', { summary: 'tests pass' }, 'c-2'), { 'mcp-protocol-version': '2025-06-18' });
    expect(done.json).toMatchObject({ jsonrpc: '2.0', id: 'c-2', result: { content: [{ type: 'text', text: 'Progress recorded.' }] } });
    expect(server.calls).toEqual([{ tool: 'report_progress', arguments: { summary: 'tests pass' }, at: expect.any(Date) }]);
    expect((await post(server, { jsonrpc: '2.0', id: 3, method: 'ping' })).json).toEqual({ jsonrpc: '2.0', id: 3, result: {} });
  });

  it("without the bottle's credential every request is 401 with an empty body, on every path, and nothing is recorded", async () => {
    const server = await start();
    const base = server.url.replace(/\/mcp$/, '');
    for (const [path, authorization] of [
      ['/mcp', undefined],
      ['/mcp', 'Bearer wrong'],
      ['/mcp', `Bearer ${server.token}x`],
      ['/mcp', `Basic ${Buffer.from(`x:${server.token}`).toString('base64')}`],
      ['/health', undefined],
      ['/nothing', undefined],
    ] as const) {
      const res = await fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(authorization ? { authorization } : {}) },
        body: JSON.stringify(call('report_progress', { summary: 'forged' })),
      });
      expect([path, authorization, res.status, await res.text()]).toEqual([path, authorization, 401, '']);
    }
    expect(server.calls).toEqual([]);
    expect(server.log.total).toBe(0);
  });

  it('refuses an Origin (403), GET (405), a body over the cap sent chunked (413) and a gzip bomb (413)', async () => {
    const server = await start();
    expect((await post(server, call('report_progress', { summary: 'x' }), { origin: 'http://evil.example' })).status).toBe(403);
    const get = await fetch(server.url, { headers: { authorization: `Bearer ${server.token}`, accept: 'text/event-stream' } });
    expect(get.status).toBe(405);
    await get.text();
    // 70 KiB in 1 KiB chunks, no Content-Length.
    expect(
      await chunked(
        server,
        Array.from({ length: 70 }, () => Buffer.alloc(1024, 0x20)),
      ),
    ).toBe(413);
    // 64 KiB of gzip that inflates to 64 MiB.
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
    expect(bomb.length).toBeLessThan(128 * 1024);
    expect(await chunked(server, [bomb], { 'content-encoding': 'gzip' })).toBe(413);
    expect(server.calls).toEqual([]);
  });

  it('request_review answers with the host handler; bad arguments and unknown tools are errors, not calls', async () => {
    const server = await start({ onReview: ({ summary, question }) => `looked at "${summary}" / ${question ?? '-'}` });
    expect((await post(server, call('request_review', { summary: 'PR ready', question: 'merge?' }))).json).toMatchObject({
      result: { content: [{ type: 'text', text: 'looked at "PR ready" / merge?' }] },
    });
    for (const bad of [
      call('request_review', { question: 'no summary' }),
      call('report_progress', { summary: 'x', extra: 1 }),
      call('report_progress', { summary: 42 }),
      call('no_such_tool', {}),
    ]) {
      const { json } = await post(server, bad);
      const failed = json as { error?: unknown; result?: { isError?: boolean } };
      expect(failed.error !== undefined || failed.result?.isError === true, JSON.stringify(json)).toBe(true);
    }
    expect(server.calls.map((c) => c.tool)).toEqual(['request_review']);
  });

  it('keeps a bounded ring of calls in memory and appends every call to a 0600 JSONL file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cb-supervise-'));
    dirs.push(dir);
    const file = join(dir, CALL_LOG_FILE);
    const server = await start({ log: new CallLog({ file, maxInMemory: 3 }) });
    for (let i = 0; i < 5; i++) await post(server, call('report_progress', { summary: `step ${i}` }, i));
    expect(server.calls.map((c) => c.arguments.summary)).toEqual(['step 2', 'step 3', 'step 4']);
    expect(server.log.total).toBe(5);
    await server.log.flush();
    expect(((await stat(file)).mode & 0o777).toString(8)).toBe('600');
    const lines = (await readFile(file, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { tool: string; arguments: { summary: string }; at: string });
    expect(lines.map((l) => l.arguments.summary)).toEqual(['step 0', 'step 1', 'step 2', 'step 3', 'step 4']);
    expect(lines.every((l) => l.tool === 'report_progress' && !Number.isNaN(Date.parse(l.at)))).toBe(true);
  });

  it('as a bundle daemon: its own credential, its calls in the run dir', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cb-supervise-'));
    dirs.push(dir);
    const spec = superviseDaemon({ runDir: dir, name: 'boss' });
    expect(spec.token).not.toBe(superviseDaemon().token);
    const started = await spec.start('127.0.0.1', 0);
    try {
      const res = await fetch(started.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${spec.token}` },
        body: JSON.stringify(call('report_progress', { summary: 'from the spec' })),
      });
      expect(res.status).toBe(200);
      await res.text();
      expect(spec.calls).toEqual([{ tool: 'report_progress', arguments: { summary: 'from the spec' }, at: expect.any(Date) }]);
    } finally {
      await started.stop();
    }
    expect(await readFile(join(dir, CALL_LOG_FILE), 'utf8')).toContain('"from the spec"');
  });
});

describe('mcpConfigFor', () => {
  it('puts the credential in the headers Claude Code sends; checks the name and the URL', () => {
    expect(mcpConfigFor('http://10.0.0.1:4000/mcp', 'supervisor', 'tok')).toEqual({
      mcpServers: { supervisor: { type: 'http', url: 'http://10.0.0.1:4000/mcp', headers: { Authorization: 'Bearer tok' } } },
    });
    expect(mcpConfigFor('http://10.0.0.1:4000/mcp')).toEqual({ mcpServers: { supervise: { type: 'http', url: 'http://10.0.0.1:4000/mcp' } } });
    expect(() => mcpConfigFor('http://x/mcp', 'bad name')).toThrow(ConfigError);
    expect(() => mcpConfigFor('file:///etc/passwd')).toThrow(ConfigError);
  });
});
