import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../errors.ts';
import { LATEST_PROTOCOL_VERSION, mcpConfigFor, startSuperviseServer, superviseDaemon, type SuperviseServer } from './server.ts';

const servers: SuperviseServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop();
});

async function start(options: Parameters<typeof startSuperviseServer>[0] = {}): Promise<SuperviseServer> {
  const server = await startSuperviseServer(options);
  servers.push(server);
  return server;
}

/** What an MCP client sends: POST, JSON, accepting JSON or SSE. */
async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; type: string | null; json: unknown; text: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type'), text, json: text ? JSON.parse(text) : undefined };
}

describe('supervise MCP server (streamable HTTP)', () => {
  it('the handshake, tools/list and a tool call, as Claude Code performs them; every call is recorded', async () => {
    const server = await start();
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);

    const init = await post(server.url, {
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: { roots: {} }, clientInfo: { name: 'claude-code', version: '2.1.0' } },
    });
    expect(init.status).toBe(200);
    expect(init.type).toBe('application/json');
    expect(init.json).toMatchObject({
      jsonrpc: '2.0',
      id: 0,
      result: { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'supervise', version: expect.any(String) } },
    });

    const initialized = await post(server.url, { jsonrpc: '2.0', method: 'notifications/initialized' }, { 'mcp-protocol-version': '2025-06-18' });
    expect([initialized.status, initialized.text, initialized.type]).toEqual([202, '', null]);

    const list = await post(server.url, { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }, { 'mcp-protocol-version': '2025-06-18' });
    const tools = (list.json as { result: { tools: { name: string; inputSchema: { type: string; required: string[] } }[] } }).result.tools;
    expect(tools.map((t) => t.name)).toEqual(['report_progress', 'request_review']);
    for (const tool of tools) expect(tool.inputSchema).toMatchObject({ type: 'object', required: ['summary'] });

    const call = await post(server.url, { jsonrpc: '2.0', id: 'c-2', method: 'tools/call', params: { name: 'report_progress', arguments: { summary: 'tests pass' } } });
    expect(call.json).toEqual({ jsonrpc: '2.0', id: 'c-2', result: { content: [{ type: 'text', text: 'Progress recorded.' }], isError: false } });
    expect(server.calls).toEqual([{ tool: 'report_progress', arguments: { summary: 'tests pass' }, at: expect.any(Date) }]);

    expect((await post(server.url, { jsonrpc: '2.0', id: 3, method: 'ping' })).json).toEqual({ jsonrpc: '2.0', id: 3, result: {} });
  });

  it('initialize echoes a supported protocol version and answers an unknown one with the latest', async () => {
    const server = await start({ name: 'boss' });
    const ask = async (protocolVersion: string) =>
      ((await post(server.url, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion, capabilities: {}, clientInfo: { name: 't', version: '1' } } })).json as {
        result: { protocolVersion: string; serverInfo: { name: string } };
      }).result;
    expect((await ask('2025-03-26')).protocolVersion).toBe('2025-03-26');
    expect(await ask('1999-01-01')).toMatchObject({ protocolVersion: LATEST_PROTOCOL_VERSION, serverInfo: { name: 'boss' } });
  });

  it('request_review answers with the host handler; bad arguments are tool errors, unknown tools and methods JSON-RPC errors', async () => {
    const server = await start({ onReview: ({ summary, question }) => `looked at "${summary}" / ${question ?? '-'}` });
    const call = (params: unknown, id = 7) => post(server.url, { jsonrpc: '2.0', id, method: 'tools/call', params });
    expect((await call({ name: 'request_review', arguments: { summary: 'PR ready', question: 'merge?' } })).json).toMatchObject({
      result: { content: [{ type: 'text', text: 'looked at "PR ready" / merge?' }], isError: false },
    });
    expect((await call({ name: 'request_review', arguments: { question: 'no summary' } })).json).toMatchObject({
      result: { isError: true, content: [{ type: 'text', text: expect.stringMatching(/missing required argument "summary"/) }] },
    });
    expect((await call({ name: 'report_progress', arguments: { summary: 'x', extra: 1 } })).json).toMatchObject({ result: { isError: true } });
    expect((await call({ name: 'rm_rf' })).json).toMatchObject({ id: 7, error: { code: -32602, message: expect.stringMatching(/Unknown tool: rm_rf/) } });
    expect((await post(server.url, { jsonrpc: '2.0', id: 8, method: 'resources/list' })).json).toMatchObject({ id: 8, error: { code: -32601 } });
    expect(server.calls.map((c) => c.tool)).toEqual(['request_review']);
  });

  it('transport rules: GET/DELETE 405, bad JSON 400 (-32700), batches and non-JSON-RPC 400, Origin 403, bad protocol header 400, other paths 404', async () => {
    const server = await start();
    const get = await fetch(server.url, { signal: AbortSignal.timeout(5000) });
    expect([get.status, get.headers.get('allow')]).toEqual([405, 'POST']);
    await get.body?.cancel();
    expect((await fetch(server.url, { method: 'DELETE', signal: AbortSignal.timeout(5000) })).status).toBe(405);
    expect(await post(server.url, '{not json')).toMatchObject({ status: 400, json: { error: { code: -32700 } } });
    expect(await post(server.url, [{ jsonrpc: '2.0', id: 1, method: 'ping' }])).toMatchObject({ status: 400, json: { error: { code: -32600 } } });
    expect(await post(server.url, { id: 1, method: 'ping' })).toMatchObject({ status: 400, json: { error: { code: -32600 } } });
    expect((await post(server.url, { jsonrpc: '2.0', id: 1, method: 'ping' }, { origin: 'http://evil.example' })).status).toBe(403);
    expect((await post(server.url, { jsonrpc: '2.0', id: 1, method: 'ping' }, { 'mcp-protocol-version': '1999-01-01' })).status).toBe(400);
    expect((await post(server.url.replace('/mcp', '/other'), { jsonrpc: '2.0', id: 1, method: 'ping' })).status).toBe(404);
    // A response from the client (to a request we never sent) is accepted and ignored.
    expect((await post(server.url, { jsonrpc: '2.0', id: 5, result: {} })).status).toBe(202);
  });

  it('stop is idempotent and frees the port', async () => {
    const server = await start();
    await Promise.all([server.stop(), server.stop()]);
    await server.stop();
    await expect(fetch(server.url, { method: 'POST', body: '{}', signal: AbortSignal.timeout(2000) })).rejects.toThrow();
  });
});

describe('mcpConfigFor and superviseDaemon', () => {
  it('is the --mcp-config shape Claude Code reads', () => {
    expect(mcpConfigFor('http://10.0.0.1:4000/mcp')).toEqual({ mcpServers: { supervise: { type: 'http', url: 'http://10.0.0.1:4000/mcp' } } });
    expect(mcpConfigFor('http://h:1/mcp', 'boss')).toEqual({ mcpServers: { boss: { type: 'http', url: 'http://h:1/mcp' } } });
    expect(() => mcpConfigFor('http://h:1/mcp', 'bad name')).toThrow(ConfigError);
    expect(() => mcpConfigFor('file:///etc/passwd')).toThrow(/not an http\(s\) URL/);
    expect(() => mcpConfigFor('not a url')).toThrow(ConfigError);
  });

  it('a DaemonSpec: binds the given host and port, records calls across its life, stops', async () => {
    const spec = superviseDaemon();
    const { createServer } = await import('node:net');
    const probe = createServer().listen(0, '127.0.0.1');
    await new Promise((r) => probe.once('listening', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    const started = await spec.start('127.0.0.1', port);
    try {
      expect(started.url).toBe(`http://127.0.0.1:${port}/mcp`);
      await post(started.url, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'report_progress', arguments: { summary: 's' } } });
      expect(spec.calls).toHaveLength(1);
    } finally {
      await started.stop();
    }
  });
});
