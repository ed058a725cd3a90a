/**
 * The supervise daemon: a minimal MCP server over the Streamable HTTP transport, through which a
 * bottled agent reports to its supervisor. One endpoint (`/mcp`) takes one JSON-RPC 2.0 message
 * per POST:
 *  - a request (it has an `id`) is answered `200 application/json` with its response;
 *  - a notification or a response (no `id`) is answered `202 Accepted` with no body;
 *  - GET and DELETE are `405` (this server opens no server-to-client stream and keeps no session).
 * Methods: `initialize`, `ping`, `tools/list`, `tools/call`; others are `-32601`. The tools are
 * `report_progress` and `request_review`; every call is recorded in `calls`, in arrival order.
 *
 * It binds one address only; requests carrying an `Origin` header are refused (the transport
 * asks servers to, against DNS rebinding: no browser has business here).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { ConfigError } from '../../errors.ts';
import type { DaemonSpec } from '../../daemon/daemon.ts';
import { listen } from '../../daemon/listen.ts';

export const MCP_PATH = '/mcp';
export const LATEST_PROTOCOL_VERSION = '2025-06-18';
/** Revisions whose `initialize` this server answers in kind; any other gets the latest. */
export const SUPPORTED_PROTOCOL_VERSIONS = ['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25'] as const;
export const DEFAULT_SERVER_NAME = 'supervise';
const MAX_BODY_BYTES = 1024 * 1024;

export type SuperviseTool = 'report_progress' | 'request_review';

export interface SuperviseCall {
  readonly tool: SuperviseTool;
  readonly arguments: Readonly<Record<string, unknown>>;
  readonly at: Date;
}

export interface SuperviseServerOptions {
  /** The one address to bind; default `127.0.0.1`. */
  readonly host?: string;
  /** Default 0: any free port. */
  readonly port?: number;
  /** `serverInfo.name`; default `supervise`. */
  readonly name?: string;
  /** Where calls are recorded; default a new array (read it back as `server.calls`). */
  readonly calls?: SuperviseCall[];
  /** The text answer to a `request_review`; default an acknowledgement. */
  readonly onReview?: (request: { summary: string; question?: string }) => string | Promise<string>;
}

export interface SuperviseServer extends AsyncDisposable {
  /** `http://host:port/mcp`: the URL for the MCP config. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly calls: readonly SuperviseCall[];
  /** Idempotent. */
  stop(): Promise<void>;
}

interface ToolDef {
  readonly name: SuperviseTool;
  readonly title: string;
  readonly description: string;
  readonly inputSchema: {
    readonly type: 'object';
    readonly properties: Record<string, { type: 'string'; description: string }>;
    readonly required: readonly string[];
    readonly additionalProperties: false;
  };
}

export const SUPERVISE_TOOLS: readonly ToolDef[] = [
  {
    name: 'report_progress',
    title: 'Report progress',
    description: 'Tell your supervisor what you have done so far and what you are doing next. Call it at each milestone.',
    inputSchema: {
      type: 'object',
      properties: { summary: { type: 'string', description: 'One or two sentences: what is done, what is next.' } },
      required: ['summary'],
      additionalProperties: false,
    },
  },
  {
    name: 'request_review',
    title: 'Request review',
    description: 'Ask your supervisor to review your work, optionally with a specific question. Use it before irreversible steps.',
    inputSchema: {
      type: 'object',
      properties: {
        summary: { type: 'string', description: 'What is ready for review.' },
        question: { type: 'string', description: 'A specific question for the reviewer, if any.' },
      },
      required: ['summary'],
      additionalProperties: false,
    },
  },
];

type JsonRpcId = string | number;
type Reply = { status: number; body?: unknown; headers?: Record<string, string> };

const rpcError = (id: JsonRpcId | null, code: number, message: string): unknown => ({ jsonrpc: '2.0', id, error: { code, message } });
const rpcResult = (id: JsonRpcId, result: unknown): unknown => ({ jsonrpc: '2.0', id, result });

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Validates a tool's arguments against its schema: required strings present, no extra keys. */
function argumentProblem(tool: ToolDef, args: Record<string, unknown>): string | undefined {
  for (const key of Object.keys(args)) if (!(key in tool.inputSchema.properties)) return `unknown argument "${key}"`;
  for (const key of tool.inputSchema.required) if (!(key in args)) return `missing required argument "${key}"`;
  for (const [key, value] of Object.entries(args)) if (typeof value !== 'string') return `argument "${key}" must be a string`;
  return undefined;
}

export async function startSuperviseServer(options: SuperviseServerOptions = {}): Promise<SuperviseServer> {
  const host = options.host ?? '127.0.0.1';
  const serverName = options.name ?? DEFAULT_SERVER_NAME;
  const calls = options.calls ?? [];

  const callTool = async (id: JsonRpcId, params: unknown): Promise<unknown> => {
    if (!isRecord(params) || typeof params.name !== 'string') return rpcError(id, -32602, 'tools/call needs params.name');
    const tool = SUPERVISE_TOOLS.find((t) => t.name === params.name);
    if (!tool) return rpcError(id, -32602, `Unknown tool: ${params.name}`);
    const args = params.arguments ?? {};
    if (!isRecord(args)) return rpcError(id, -32602, 'tools/call params.arguments must be an object');
    const problem = argumentProblem(tool, args);
    // Invalid arguments are a tool execution error the model can read and correct.
    if (problem) return rpcResult(id, { content: [{ type: 'text', text: `${tool.name}: ${problem}` }], isError: true });
    calls.push({ tool: tool.name, arguments: { ...args }, at: new Date() });
    let text: string;
    if (tool.name === 'report_progress') {
      text = 'Progress recorded.';
    } else {
      const request = { summary: args.summary as string, ...(typeof args.question === 'string' ? { question: args.question } : {}) };
      text = options.onReview ? await options.onReview(request) : 'Review requested; your supervisor has been told.';
    }
    return rpcResult(id, { content: [{ type: 'text', text }], isError: false });
  };

  const dispatch = async (message: unknown): Promise<Reply> => {
    if (!isRecord(message) || message.jsonrpc !== '2.0') return { status: 400, body: rpcError(null, -32600, 'Invalid Request: not a JSON-RPC 2.0 message') };
    const hasId = 'id' in message && message.id !== undefined;
    // A notification, or a response to a server request: accepted, never answered.
    if (!hasId) return { status: 202 };
    const id = message.id;
    if (typeof id !== 'string' && typeof id !== 'number') return { status: 400, body: rpcError(null, -32600, 'Invalid Request: id must be a string or number') };
    if (typeof message.method !== 'string') {
      // A response (result/error) to a request this server never sends.
      return 'result' in message || 'error' in message ? { status: 202 } : { status: 400, body: rpcError(id, -32600, 'Invalid Request: no method') };
    }
    const params = message.params;
    switch (message.method) {
      case 'initialize': {
        const asked = isRecord(params) && typeof params.protocolVersion === 'string' ? params.protocolVersion : undefined;
        const protocolVersion = asked && (SUPPORTED_PROTOCOL_VERSIONS as readonly string[]).includes(asked) ? asked : LATEST_PROTOCOL_VERSION;
        return {
          status: 200,
          body: rpcResult(id, {
            protocolVersion,
            capabilities: { tools: { listChanged: false } },
            serverInfo: { name: serverName, title: 'claude-bottle supervisor', version: '1.0.0' },
            instructions: 'Report progress with report_progress at each milestone; call request_review before irreversible steps.',
          }),
        };
      }
      case 'ping':
        return { status: 200, body: rpcResult(id, {}) };
      case 'tools/list':
        return { status: 200, body: rpcResult(id, { tools: SUPERVISE_TOOLS }) };
      case 'tools/call':
        return { status: 200, body: await callTool(id, params) };
      default:
        return { status: 200, body: rpcError(id, -32601, `Method not found: ${message.method}`) };
    }
  };

  const handle = async (req: IncomingMessage): Promise<Reply> => {
    const path = (req.url ?? '/').split('?')[0];
    // For guest probes that speak only HTTP GET (busybox wget).
    if (path === '/health' && req.method === 'GET') return { status: 200, body: { status: 'healthy' } };
    if (path !== MCP_PATH) return { status: 404, body: { error: `not found; the MCP endpoint is ${MCP_PATH}` } };
    if (req.headers.origin !== undefined) return { status: 403, body: rpcError(null, -32000, 'Forbidden: requests with an Origin header are refused') };
    if (req.method !== 'POST') return { status: 405, headers: { allow: 'POST' } };
    const version = req.headers['mcp-protocol-version'];
    if (typeof version === 'string' && !(SUPPORTED_PROTOCOL_VERSIONS as readonly string[]).includes(version)) {
      return { status: 400, body: rpcError(null, -32000, `Bad Request: unsupported MCP-Protocol-Version ${version}`) };
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) return { status: 413, body: rpcError(null, -32600, `request body over ${MAX_BODY_BYTES} bytes`) };
      chunks.push(chunk);
    }
    let message: unknown;
    try {
      message = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return { status: 400, body: rpcError(null, -32700, 'Parse error') };
    }
    if (Array.isArray(message)) return { status: 400, body: rpcError(null, -32600, 'Invalid Request: batches are not supported') };
    return dispatch(message);
  };

  const server = createServer((req, res: ServerResponse) => {
    handle(req).then(
      ({ status, body, headers }) => {
        res.writeHead(status, { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) });
        res.end(body === undefined ? undefined : JSON.stringify(body));
      },
      (error: unknown) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify(rpcError(null, -32603, `Internal error: ${error instanceof Error ? error.message : String(error)}`)));
      },
    );
  });
  const { port, hostInUrl, close: stop } = await listen(server, host, options.port);
  return { url: `http://${hostInUrl}:${port}${MCP_PATH}`, host, port, calls, stop, [Symbol.asyncDispose]: stop };
}

/** The `--mcp-config` file Claude Code reads: one HTTP server under `name`. */
export interface McpConfig {
  readonly mcpServers: Readonly<Record<string, { readonly type: 'http'; readonly url: string }>>;
}

export function mcpConfigFor(url: string, name: string = DEFAULT_SERVER_NAME): McpConfig {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) {
    const message = `${JSON.stringify(name)} is not an MCP server name (letters, digits, '_' and '-', 1-64 chars)`;
    throw new ConfigError(`supervise: ${message}`, [{ path: 'supervise.name', message }]);
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    parsed = new URL('invalid:');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    const message = `${JSON.stringify(url)} is not an http(s) URL`;
    throw new ConfigError(`supervise: ${message}`, [{ path: 'supervise.url', message }]);
  }
  return { mcpServers: { [name]: { type: 'http', url } } };
}

export interface SuperviseDaemonSpec extends DaemonSpec {
  readonly name: 'supervise';
  /** Every tool call the agent made, across the daemon's life. */
  readonly calls: readonly SuperviseCall[];
}

/** The supervise server as a bundle daemon; its `url` is the MCP endpoint. */
export function superviseDaemon(options: Omit<SuperviseServerOptions, 'host' | 'port' | 'calls'> = {}): SuperviseDaemonSpec {
  const calls: SuperviseCall[] = [];
  return {
    name: 'supervise',
    calls,
    async start(host, port) {
      const server = await startSuperviseServer({ ...options, host, port, calls });
      return { url: server.url, stop: () => server.stop() };
    },
  };
}
