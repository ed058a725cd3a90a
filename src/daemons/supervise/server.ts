/**
 * The supervise daemon: an MCP server on the official SDK's Streamable HTTP transport, through
 * which a bottled agent reports to its supervisor. One endpoint, `/mcp`, stateless (a fresh SDK
 * server and transport per request, so nothing accumulates per client) and answering JSON:
 *  - every request must carry `Authorization: Bearer <token>` (the bottle's own credential, in
 *    its MCP config's `headers`); without it: `401`, nothing else, whatever the path;
 *  - requests carrying an `Origin` header are refused (`403`): no browser has business here;
 *  - only POST (`405` otherwise: no server-to-client stream, no session);
 *  - the body is read and capped here (`413`) before the SDK parses anything.
 * The tools are `report_progress` and `request_review` (./tools.ts); calls are kept in a bounded
 * ring and appended to a 0600 JSONL file (./calls.ts). The server is bounded like every daemon
 * (`boundedServer`). It binds one address only.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { join } from 'node:path';
import { ConfigError } from '../../errors.ts';
import { authorize, newCredential } from '../../daemon/auth.ts';
import { BodyError, readBody } from '../../daemon/body.ts';
import type { DaemonSpec } from '../../daemon/daemon.ts';
import { answerHttpError } from '../../daemon/http-error.ts';
import { boundedServer, type ServerLimits } from '../../daemon/limits.ts';
import { listen } from '../../daemon/listen.ts';
import { CALL_LOG_FILE, CallLog, type SuperviseCall } from './calls.ts';
import type { ReviewHandler } from './tool-defs.ts';
import { registerSuperviseTools } from './tools.ts';

export { CALL_LOG_FILE, CallLog, type SuperviseCall, type SuperviseTool } from './calls.ts';
export { SUPERVISE_TOOLS } from './tool-defs.ts';

export const MCP_PATH = '/mcp';
export const DEFAULT_SERVER_NAME = 'supervise';
/** A tool call is a sentence or two: 64 KiB is generous, and bounds what one request can cost. */
export const MAX_BODY_BYTES = 64 * 1024;
/** MCP calls are quick: a request that takes longer than this to arrive is dropped. */
const SUPERVISE_LIMITS: Partial<ServerLimits> = { requestTimeoutMs: 30_000, maxConnections: 32 };

export interface SuperviseServerOptions {
  /** The one address to bind; default `127.0.0.1`. */
  readonly host?: string;
  /** Default 0: any free port. */
  readonly port?: number;
  /** `serverInfo.name`; default `supervise`. */
  readonly name?: string;
  /** The bearer token every request must carry; default a fresh one (read it back as `server.token`). */
  readonly token?: string;
  /** Where calls are recorded; default a new in-memory log. */
  readonly log?: CallLog;
  /** The text answer to a `request_review`; default an acknowledgement. */
  readonly onReview?: ReviewHandler;
  readonly limits?: Partial<ServerLimits>;
  /** Default `MAX_BODY_BYTES`. */
  readonly maxBodyBytes?: number;
}

export interface SuperviseServer extends AsyncDisposable {
  /** `http://host:port/mcp`: the URL for the MCP config. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly token: string;
  /** The latest calls (a bounded ring), oldest first. */
  readonly calls: readonly SuperviseCall[];
  readonly log: CallLog;
  /** Idempotent. */
  stop(): Promise<void>;
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}

const rpcError = (code: number, message: string): unknown => ({ jsonrpc: '2.0', id: null, error: { code, message } });

export async function startSuperviseServer(options: SuperviseServerOptions = {}): Promise<SuperviseServer> {
  const host = options.host ?? '127.0.0.1';
  const serverName = options.name ?? DEFAULT_SERVER_NAME;
  const token = options.token ?? newCredential();
  const log = options.log ?? new CallLog();
  const maxBodyBytes = options.maxBodyBytes ?? MAX_BODY_BYTES;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // The credential first: a caller without it learns nothing, not even which paths exist.
    if (!authorize(req, res, token)) return;
    const path = (req.url ?? '/').split('?')[0];
    if (path !== MCP_PATH) return json(res, 404, { error: `not found; the MCP endpoint is ${MCP_PATH}` });
    if (req.headers.origin !== undefined) return json(res, 403, rpcError(-32000, 'Forbidden: requests with an Origin header are refused'));
    if (req.method !== 'POST') return json(res, 405, rpcError(-32000, 'Method not allowed: POST only (no stream, no session)'), { allow: 'POST' });
    let parsed: unknown;
    try {
      const body = await readBody(req, { maxRawBytes: maxBodyBytes });
      parsed = JSON.parse(body.toString('utf8'));
    } catch (error) {
      if (error instanceof BodyError) return answerHttpError(req, res, error);
      return json(res, 400, rpcError(-32700, 'Parse error'));
    }
    // Stateless: one server and transport per request, closed with the response.
    const server = new McpServer(
      { name: serverName, title: 'claude-bottle supervisor', version: '1.0.0' },
      {
        capabilities: { tools: { listChanged: false } },
        instructions: 'Report progress with report_progress at each milestone; call request_review before irreversible steps.',
      },
    );
    registerSuperviseTools(server, log, options.onReview);
    const transport = new StreamableHTTPServerTransport({ enableJsonResponse: true });
    res.on('close', () => {
      void transport.close().catch(() => undefined);
      void server.close().catch(() => undefined);
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, parsed);
  };

  const server = boundedServer(
    (req, res) => {
      handle(req, res).catch((error: unknown) => {
        if (res.headersSent) return void res.destroy();
        json(res, 500, rpcError(-32603, `Internal error: ${error instanceof Error ? error.message : String(error)}`));
      });
    },
    { ...SUPERVISE_LIMITS, ...options.limits },
  );
  const { port, hostInUrl, close } = await listen(server, host, options.port);
  const stop = async (): Promise<void> => {
    await close();
    await log.flush();
  };
  return { url: `http://${hostInUrl}:${port}${MCP_PATH}`, host, port, token, calls: log.recent, log, stop, [Symbol.asyncDispose]: stop };
}

/** One HTTP server in the `--mcp-config` file Claude Code reads; `headers` carry the credential. */
export interface McpServerEntry {
  readonly type: 'http';
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface McpConfig {
  readonly mcpServers: Readonly<Record<string, McpServerEntry>>;
}

/** The config for `url` under `name`; with `token`, Claude Code sends `Authorization: Bearer <token>`. */
export function mcpConfigFor(url: string, name: string = DEFAULT_SERVER_NAME, token?: string): McpConfig {
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
  return { mcpServers: { [name]: { type: 'http', url, ...(token !== undefined ? { headers: { Authorization: `Bearer ${token}` } } : {}) } } };
}

export interface SuperviseDaemonSpec extends DaemonSpec {
  readonly name: 'supervise';
  /** The latest tool calls the agent made (a bounded ring), across the daemon's life. */
  readonly calls: readonly SuperviseCall[];
  readonly log: CallLog;
  /** The bottle's credential for this daemon. */
  readonly token: string;
}

export interface SuperviseDaemonOptions extends Omit<SuperviseServerOptions, 'host' | 'port' | 'log'> {
  /** The bottle's run dir: calls are appended to `<runDir>/supervise-calls.jsonl`. */
  readonly runDir?: string;
  readonly maxCallsInMemory?: number;
}

/** The supervise server as a bundle daemon; its `url` is the MCP endpoint. */
export function superviseDaemon(options: SuperviseDaemonOptions = {}): SuperviseDaemonSpec {
  const { runDir, maxCallsInMemory, ...rest } = options;
  const token = rest.token ?? newCredential();
  const log = new CallLog({
    ...(runDir !== undefined ? { file: join(runDir, CALL_LOG_FILE) } : {}),
    ...(maxCallsInMemory !== undefined ? { maxInMemory: maxCallsInMemory } : {}),
  });
  return {
    name: 'supervise',
    calls: log.recent,
    log,
    token,
    async start(host, port) {
      const server = await startSuperviseServer({ ...rest, token, host, port, log });
      return { url: server.url, stop: () => server.stop() };
    },
  };
}
