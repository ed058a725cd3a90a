/**
 * A stand-in for the Anthropic Messages API, for proving offline that a bottled `claude` really
 * received its prompt and skills: point the guest's `ANTHROPIC_BASE_URL` at it, run `claude -p`,
 * then read what claude sent. It records every request and answers `POST /v1/messages` with one
 * short text message, as a server-sent event stream when the request asks for `stream: true`
 * and as JSON otherwise.
 *
 *   await using api = await startMessagesApiStandIn({ host: gatewayIp, reply: 'pong' });
 *   await bottle.execClaude(['-p', 'hello'], { env: { ANTHROPIC_BASE_URL: api.url, ANTHROPIC_API_KEY: 'dummy' } });
 *   expect(systemText(api.messageRequests[0]!)).toContain(promptMarker);
 *
 * It binds one address only (default 127.0.0.1): give it the host loopback (with host networking)
 * or the gateway of a Docker network you created, never a public address.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { gunzipSync, inflateSync, brotliDecompressSync } from 'node:zlib';
import { listen } from '../daemon/listen.ts';

export interface RecordedRequest {
  readonly method: string;
  /** Path without the query string, e.g. `/v1/messages`. */
  readonly path: string;
  /** Path and query, e.g. `/v1/messages?beta=true`. */
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The decoded request body as text. */
  readonly body: string;
  /** The body parsed as JSON, when it is JSON. */
  readonly json: unknown;
  readonly receivedAt: Date;
}

export interface MessagesApiStandInOptions {
  /** The one address to bind; default `127.0.0.1`. */
  readonly host?: string;
  /** Default 0: any free port. */
  readonly port?: number;
  /**
   * The assistant's answer; default the text `"stand-in answer"`. A function sees the request and
   * may answer a tool call instead (`{ toolUse: { name, input } }`, `stop_reason: tool_use`).
   */
  readonly reply?: string | ((request: RecordedRequest) => string | StandInReply);
  /** Serve HTTPS with this key and certificate (PEM) instead of plain HTTP. */
  readonly tls?: { readonly key: string | Buffer; readonly cert: string | Buffer };
}

export interface MessagesApiStandIn extends AsyncDisposable {
  /** `http(s)://host:port`, no trailing slash: the value for `ANTHROPIC_BASE_URL`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Every request, in arrival order. */
  readonly requests: readonly RecordedRequest[];
  /** Only the `POST /v1/messages` requests. */
  readonly messageRequests: readonly RecordedRequest[];
  close(): Promise<void>;
}

export const DEFAULT_REPLY = 'stand-in answer';

/** A text answer, or a call of one of the tools the request offered. */
export type StandInReply = { readonly text: string } | { readonly toolUse: { readonly name: string; readonly input: Readonly<Record<string, unknown>> } };

/** The names of the tools a request offered the model (`tools[].name`), e.g. `mcp__supervisor__report_progress`. */
export function offeredTools(request: RecordedRequest): string[] {
  const tools = (request.json as { tools?: unknown } | undefined)?.tools;
  return Array.isArray(tools)
    ? tools.flatMap((t: unknown) => (typeof t === 'object' && t !== null && 'name' in t && typeof t.name === 'string' ? [t.name] : []))
    : [];
}

/** The `tool_result` blocks in a request's messages: what the tools answered, as text. */
export function toolResults(request: RecordedRequest): { toolUseId: string; text: string }[] {
  const messages = (request.json as { messages?: unknown } | undefined)?.messages;
  const found: { toolUseId: string; text: string }[] = [];
  for (const message of Array.isArray(messages) ? messages : []) {
    const content = (message as { content?: unknown }).content;
    for (const block of Array.isArray(content) ? content : []) {
      const b = block as { type?: unknown; tool_use_id?: unknown; content?: unknown };
      if (b.type !== 'tool_result' || typeof b.tool_use_id !== 'string') continue;
      const text =
        typeof b.content === 'string'
          ? b.content
          : (Array.isArray(b.content) ? b.content : [])
              .map((c: unknown) => (typeof c === 'object' && c !== null && 'text' in c && typeof c.text === 'string' ? c.text : ''))
              .join('\n');
      found.push({ toolUseId: b.tool_use_id, text });
    }
  }
  return found;
}

export async function startMessagesApiStandIn(options: MessagesApiStandInOptions = {}): Promise<MessagesApiStandIn> {
  const host = options.host ?? '127.0.0.1';
  const requests: RecordedRequest[] = [];
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const recorded = record(req, Buffer.concat(chunks));
      requests.push(recorded);
      respond(recorded, res, options.reply);
    });
  };
  const server: Server = options.tls ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, handler) : createHttpServer(handler);
  const { port, hostInUrl, close } = await listen(server, host, options.port);
  return {
    url: `${options.tls ? 'https' : 'http'}://${hostInUrl}:${port}`,
    host,
    port,
    requests,
    get messageRequests() {
      return requests.filter((r) => r.method === 'POST' && r.path === '/v1/messages');
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** The request's `system` prompt as one string: a plain string, or the `text` of every block joined. */
export function systemText(request: RecordedRequest): string {
  const system = (request.json as { system?: unknown } | undefined)?.system;
  if (typeof system === 'string') return system;
  if (!Array.isArray(system)) return '';
  return system
    .map((block: unknown) => (typeof block === 'object' && block !== null && 'text' in block && typeof block.text === 'string' ? block.text : ''))
    .join('\n');
}

/**
 * The skills claude listed to the model (`- name: description` lines after "The following skills
 * are available"), wherever in the request it put them (claude-code 2.1 puts them in a
 * system-reminder of the first user message, not in `system`).
 */
export function listedSkills(request: RecordedRequest): { name: string; description: string }[] {
  const text = allText(request.json);
  const found: { name: string; description: string }[] = [];
  for (const match of text.matchAll(/The following skills are available[^\n]*\n((?:\n|- [^\n]*\n?)*)/g)) {
    for (const line of (match[1] ?? '').split('\n')) {
      const m = /^- ([^:]+): (.*)$/.exec(line);
      if (m?.[1] !== undefined && m[2] !== undefined) found.push({ name: m[1], description: m[2] });
    }
  }
  return found;
}

/** Every string inside a JSON value, joined with newlines: for "is this marker anywhere in the request". */
export function allText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(allText).join('\n');
  if (typeof value === 'object' && value !== null) return Object.values(value).map(allText).join('\n');
  return '';
}

function record(req: IncomingMessage, raw: Buffer): RecordedRequest {
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[key] = Array.isArray(value) ? value.join(', ') : value;
  }
  const body = decode(raw, headers['content-encoding']).toString('utf8');
  let json: unknown;
  try {
    json = body ? JSON.parse(body) : undefined;
  } catch {
    json = undefined;
  }
  const url = req.url ?? '/';
  return { method: req.method ?? 'GET', path: url.replace(/\?.*$/, ''), url, headers, body, json, receivedAt: new Date() };
}

function decode(raw: Buffer, encoding: string | undefined): Buffer {
  switch (encoding?.trim().toLowerCase()) {
    case 'gzip':
      return gunzipSync(raw);
    case 'deflate':
      return inflateSync(raw);
    case 'br':
      return brotliDecompressSync(raw);
    default:
      return raw;
  }
}

function respond(request: RecordedRequest, res: ServerResponse, reply: MessagesApiStandInOptions['reply']): void {
  const json = (status: number, value: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(value));
  };
  if (request.method === 'POST' && request.path === '/v1/messages') {
    const body = (request.json ?? {}) as { model?: unknown; stream?: unknown };
    const answer = typeof reply === 'function' ? reply(request) : (reply ?? DEFAULT_REPLY);
    const chosen: StandInReply = typeof answer === 'string' ? { text: answer } : answer;
    const toolUse =
      'toolUse' in chosen
        ? { type: 'tool_use', id: `toolu_standin_${Date.now().toString(36)}`, name: chosen.toolUse.name, input: chosen.toolUse.input }
        : undefined;
    const stopReason = toolUse ? 'tool_use' : 'end_turn';
    const message = {
      id: `msg_standin_${Date.now().toString(36)}`,
      type: 'message',
      role: 'assistant',
      model: typeof body.model === 'string' ? body.model : 'stand-in',
      content: [toolUse ?? { type: 'text', text: 'text' in chosen ? chosen.text : '' }],
      stop_reason: stopReason,
      stop_sequence: null,
      usage: { input_tokens: 1, output_tokens: 1 },
    };
    if (body.stream !== true) return json(200, message);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const event = (type: string, data: object): void => {
      res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
    };
    event('message_start', { message: { ...message, content: [], stop_reason: null, usage: { input_tokens: 1, output_tokens: 0 } } });
    if (toolUse) {
      event('content_block_start', { index: 0, content_block: { ...toolUse, input: {} } });
      event('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: JSON.stringify(toolUse.input) } });
    } else {
      event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
      event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'text' in chosen ? chosen.text : '' } });
    }
    event('content_block_stop', { index: 0 });
    event('message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: 1 } });
    event('message_stop', {});
    res.end();
    return;
  }
  if (request.method === 'POST' && request.path === '/v1/messages/count_tokens') return json(200, { input_tokens: 1 });
  // claude's connectivity probe.
  if (request.path === '/api/hello') return json(200, { ok: true });
  json(404, { type: 'error', error: { type: 'not_found_error', message: `stand-in: no route for ${request.method} ${request.path}` } });
}
