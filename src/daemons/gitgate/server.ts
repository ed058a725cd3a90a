/**
 * The git gate: a host HTTP service that serves one repository to a bottle over git's smart
 * HTTP protocol, through `git http-backend`, and lets the bottle push only new commits on its
 * own branches.
 *
 *   await using gate = await startGitGate({ repo: '/src/project', prefix: 'bottle/reviewer/', host: gatewayIp });
 *   // in the guest: git clone ${gate.url} workspace && … && git push origin HEAD:bottle/reviewer/fix
 *
 * - Fetches (clone, fetch, pull) see the whole repository.
 * - A push may only create or fast-forward branches under `refs/heads/<prefix>`. A ref outside
 *   it, a deletion, or a force push (non-fast-forward) is refused, and the pusher's `git push`
 *   shows why (` ! [remote rejected] main -> main (claude-bottle git gate: …)`). A refused push
 *   updates no ref; objects of a push receive-pack refused stay in its quarantine and go.
 * - The user's repository config is never edited: http-backend runs with
 *   `-c http.receivepack=true -c receive.denyNonFastForwards=true -c receive.denyDeletes=true`.
 * - Request bodies are bounded (`maxRequestBytes`, after gzip decoding too). It binds one
 *   address (default 127.0.0.1): a Docker network's gateway, or loopback, never a public one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import { GATE_NAME, refusal } from './policy.ts';
import { gitCommonDir, hostGitEnv } from './repo.ts';
import { parseReceivePackRequest, parseReport, reportStatus, sideband, type RefCommand, type RefResult } from './pktline.ts';
import { listen } from '../../daemon/listen.ts';

const gunzipAsync = promisify(gunzip);

/** The one path the repository is served under: `<url>` is `http://host:port/repo.git`. */
export const GATE_REPO_PATH = '/repo.git';
export const DEFAULT_MAX_REQUEST_BYTES = 256 * 1024 * 1024;
/** receive-pack's answer is a report and progress: keep this much of it to read the report from. */
const MAX_REPORT_BYTES = 4 * 1024 * 1024;

export interface GitGateOptions {
  /** The host repository (work tree or bare). */
  readonly repo: string;
  /** Pushes may update `refs/heads/<prefix>*` only, e.g. `bottle/reviewer/`. */
  readonly prefix: string;
  /** The one address to bind; default 127.0.0.1. */
  readonly host?: string;
  /** Default 0: any free port. */
  readonly port?: number;
  /** Largest request body accepted, before and after gzip decoding; default 256 MiB. */
  readonly maxRequestBytes?: number;
  /** `git`; default from PATH. */
  readonly gitBinary?: string;
}

/** One push the gate saw: what was asked and what became of each ref. */
export interface GitPushAttempt {
  readonly at: Date;
  readonly remoteAddress: string | undefined;
  readonly commands: readonly RefCommand[];
  /** `gate`: refused by the gate's policy before receive-pack ran; `receive-pack`: receive-pack's own report. */
  readonly decidedBy: 'gate' | 'receive-pack';
  readonly results: readonly RefResult[];
  /** Every ref was updated. */
  readonly accepted: boolean;
}

export interface GitGate extends AsyncDisposable {
  /** `http://host:port/repo.git`: the clone URL. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly repo: string;
  readonly prefix: string;
  /** Every push, in the order they finished. */
  readonly pushes: readonly GitPushAttempt[];
  close(): Promise<void>;
}

class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

const SERVICES = new Set(['git-upload-pack', 'git-receive-pack']);

export async function startGitGate(options: GitGateOptions): Promise<GitGate> {
  const host = options.host ?? '127.0.0.1';
  const git = options.gitBinary ?? 'git';
  const maxBytes = options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
  const { prefix } = options;
  // The common dir: the refs a push updates live there, also for a linked worktree.
  let gitDir: string;
  try {
    gitDir = await gitCommonDir(options.repo, git);
  } catch (error) {
    throw new Error(`${GATE_NAME}: ${options.repo} is not a git repository (${error instanceof Error ? error.message : String(error)})`);
  }
  const pushes: GitPushAttempt[] = [];
  const children = new Set<ChildProcess>();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://gate');
    if (!url.pathname.startsWith(`${GATE_REPO_PATH}/`)) throw new HttpError(404, `not found; the repository is ${GATE_REPO_PATH}`);
    const rest = url.pathname.slice(GATE_REPO_PATH.length);
    let service: string;
    if (rest === '/info/refs') {
      if (req.method !== 'GET') throw new HttpError(405, 'info/refs takes GET');
      service = url.searchParams.get('service') ?? '';
      if (!SERVICES.has(service)) throw new HttpError(403, 'only smart HTTP is served (service=git-upload-pack or git-receive-pack)');
    } else if (rest === '/git-upload-pack' || rest === '/git-receive-pack') {
      if (req.method !== 'POST') throw new HttpError(405, `${rest.slice(1)} takes POST`);
      service = rest.slice(1);
    } else {
      throw new HttpError(404, 'not found; only smart HTTP is served');
    }
    const body = req.method === 'POST' ? await readBody(req, maxBytes) : Buffer.alloc(0);

    let request: ReturnType<typeof parseReceivePackRequest> | undefined;
    if (req.method === 'POST' && service === 'git-receive-pack') {
      request = parseReceivePackRequest(body);
      if (typeof request === 'string') throw new HttpError(400, request);
      const refused = request.commands.map((command) => ({ command, reason: refusal(command, prefix) }));
      if (refused.some((r) => r.reason !== undefined)) {
        // All or nothing: one refused ref stops the whole push, so the host repo never takes half of it.
        const results: RefResult[] = refused.map(({ command, reason }) => ({
          ref: command.ref,
          ok: false,
          reason: reason ?? `${GATE_NAME}: not pushed, another ref in this push was refused`,
        }));
        pushes.push({ at: new Date(), remoteAddress: req.socket.remoteAddress, commands: request.commands, decidedBy: 'gate', results, accepted: false });
        sendRefusal(res, request.capabilities, results);
        return;
      }
    }
    await runBackend(req, res, { service, path: rest, query: url.search.slice(1), body, request });
  };

  const runBackend = async (
    req: IncomingMessage,
    res: ServerResponse,
    call: { service: string; path: string; query: string; body: Buffer; request: ReturnType<typeof parseReceivePackRequest> | undefined },
  ): Promise<void> => {
    const env: Record<string, string> = {
      ...hostGitEnv(),
      GIT_PROJECT_ROOT: gitDir,
      GIT_HTTP_EXPORT_ALL: '1',
      PATH_INFO: call.path,
      REQUEST_METHOD: req.method ?? 'GET',
      QUERY_STRING: call.query,
      REMOTE_ADDR: req.socket.remoteAddress ?? '',
      REMOTE_USER: 'bottle',
      CONTENT_TYPE: req.headers['content-type'] ?? '',
    };
    if (req.method === 'POST') env.CONTENT_LENGTH = String(call.body.length);
    const protocol = req.headers['git-protocol'];
    if (typeof protocol === 'string' && /^[\w.=:-]+$/.test(protocol)) env.GIT_PROTOCOL = protocol;
    const child = spawn(
      git,
      ['-c', 'http.receivepack=true', '-c', 'http.uploadpack=true', '-c', 'receive.denyNonFastForwards=true', '-c', 'receive.denyDeletes=true', 'http-backend'],
      { env, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    children.add(child);
    const exited = once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
    child.on('error', () => {});
    res.on('close', () => {
      if (child.exitCode === null) child.kill('SIGTERM');
    });
    const stderr: Buffer[] = [];
    child.stderr?.on('data', (chunk: Buffer) => stderr.length < 64 && stderr.push(chunk));
    child.stdin?.on('error', () => {});
    child.stdin?.end(call.body);

    const report: Buffer[] = [];
    let reportBytes = 0;
    const tee = (chunk: Buffer): void => {
      if (reportBytes >= MAX_REPORT_BYTES) return;
      report.push(chunk);
      reportBytes += chunk.length;
    };
    let head = Buffer.alloc(0);
    let headersSent = false;
    const stdout = child.stdout as NodeJS.ReadableStream;
    const onHead = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const split = headerEnd(head);
      if (split === undefined) {
        if (head.length > 64 * 1024) child.kill('SIGTERM');
        return;
      }
      stdout.off('data', onHead);
      writeCgiHead(res, head.subarray(0, split.at));
      headersSent = true;
      const rest = head.subarray(split.at + split.length);
      if (call.request) {
        tee(rest);
        stdout.on('data', tee);
      }
      if (rest.length) res.write(rest);
      // The pack can be large: let the client's pace hold http-backend back.
      stdout.pipe(res, { end: false });
    };
    stdout.on('data', onHead);
    const [code] = await exited;
    children.delete(child);
    if (!headersSent) {
      const why = Buffer.concat(stderr).toString('utf8').trim().split('\n').at(-1) ?? '';
      throw new HttpError(500, `git http-backend failed (exit ${code ?? 'signal'})${why ? `: ${why}` : ''}`);
    }
    res.end();
    if (call.request && typeof call.request !== 'string' && call.request.commands.length > 0) {
      const parsed = parseReport(Buffer.concat(report), call.request.capabilities.includes('side-band-64k') || call.request.capabilities.includes('side-band'));
      const results = parsed?.results ?? call.request.commands.map((c) => ({ ref: c.ref, ok: false, reason: `no report from receive-pack (exit ${code ?? 'signal'})` }));
      pushes.push({
        at: new Date(),
        remoteAddress: req.socket.remoteAddress,
        commands: call.request.commands,
        decidedBy: 'receive-pack',
        results,
        accepted: parsed?.unpack === 'ok' && results.length > 0 && results.every((r) => r.ok),
      });
    }
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const status = error instanceof HttpError ? error.status : 500;
      const message = error instanceof Error ? error.message : String(error);
      if (!res.headersSent) {
        res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' });
        res.end(`${GATE_NAME}: ${message}\n`);
      } else {
        res.destroy();
      }
      // An unread body (e.g. one too large) is dropped with the connection.
      if (!req.complete) req.destroy();
    });
  });
  const listening = await listen(server, host, options.port);
  const { port, hostInUrl } = listening;
  const close = (): Promise<void> => {
    for (const child of children) child.kill('SIGTERM');
    return listening.close();
  };
  return {
    url: `http://${hostInUrl}:${port}${GATE_REPO_PATH}`,
    host,
    port,
    repo: options.repo,
    prefix,
    pushes,
    close,
    [Symbol.asyncDispose]: close,
  };
}

async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? '0');
  const tooLarge = (): HttpError => new HttpError(413, `request body larger than ${maxBytes} bytes`);
  if (declared > maxBytes) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw tooLarge();
    chunks.push(chunk);
  }
  const body = Buffer.concat(chunks);
  const encoding = (req.headers['content-encoding'] ?? '').trim().toLowerCase();
  if (encoding === '' || encoding === 'identity') return body;
  if (encoding !== 'gzip' && encoding !== 'x-gzip') throw new HttpError(415, `unsupported Content-Encoding ${JSON.stringify(encoding)}`);
  try {
    return await gunzipAsync(body, { maxOutputLength: maxBytes });
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge();
    throw new HttpError(400, `bad gzip body: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function headerEnd(buf: Buffer): { at: number; length: number } | undefined {
  const crlf = buf.indexOf('\r\n\r\n');
  const lf = buf.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { at: crlf, length: 4 };
  if (lf >= 0) return { at: lf, length: 2 };
  return undefined;
}

/** CGI response headers: `Status: 404 Not Found` sets the status; the rest pass through. */
function writeCgiHead(res: ServerResponse, head: Buffer): void {
  let status = 200;
  const headers: Record<string, string> = {};
  for (const line of head.toString('latin1').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 500;
    else headers[name] = value;
  }
  res.writeHead(status, headers);
}

/**
 * A receive-pack answer refusing every ref, in the shape the client asked for: report-status
 * (inside side-band channel 1 when it asked for side-band), and the reasons on channel 2 too,
 * which `git push` prints as `remote: …` lines.
 */
function sendRefusal(res: ServerResponse, capabilities: readonly string[], results: readonly RefResult[]): void {
  const report = reportStatus(results);
  const large = capabilities.includes('side-band-64k');
  const useSideband = large || capabilities.includes('side-band');
  let body = report;
  if (useSideband) {
    const messages = results.filter((r) => !r.ok && !r.reason?.includes('another ref')).map((r) => `error: ${r.ref}: ${r.reason}\n`).join('');
    body = Buffer.concat([sideband(2, Buffer.from(messages, 'utf8'), large), sideband(1, report, large), Buffer.from('0000', 'latin1')]);
  }
  res.writeHead(200, {
    'Content-Type': 'application/x-git-receive-pack-result',
    'Cache-Control': 'no-cache, max-age=0, must-revalidate',
    'Content-Length': String(body.length),
  });
  res.end(body);
}
