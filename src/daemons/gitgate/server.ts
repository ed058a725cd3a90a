/**
 * The git gate: a host HTTP service that serves one repository to one bottle over git's smart
 * HTTP protocol, through `git http-backend`, and lets the bottle push only new commits on its
 * own branches.
 *
 *   await using gate = await startGitGate({ repo: '/src/project', prefix: 'bottle/reviewer/', host: gatewayIp });
 *   // in the guest (the token in a 0600 git config include, see provision/git.ts):
 *   // git clone ${gate.url} workspace && … && git push origin HEAD:bottle/reviewer/fix
 *
 * - Every request carries `Authorization: Bearer <token>` (the bottle's own credential);
 *   without it: `401`, nothing else, whatever the path.
 * - Fetches see only the served refs (default `refs/heads/*` and `refs/tags/*`, plus the
 *   bottle's own branches; HEAD when it points at one of them), in protocol v0 only: the
 *   client's `Git-Protocol` is never passed on, so upload-pack accepts only wants reachable
 *   from a ref it advertised ("not our ref" otherwise). Protocol v2 would serve any object by id.
 * - A push may only create or fast-forward branches under `refs/heads/<prefix>`. A ref outside
 *   it, a deletion, or a force push is refused, and `git push` shows why. **A push is all or
 *   nothing**: when any ref is refused — by the gate's policy (before receive-pack runs) or by
 *   receive-pack (non-fast-forward, fsck) — no ref of the push is updated; the gate asks
 *   receive-pack for an atomic update even when the client did not. Objects of a refused push
 *   stay in receive-pack's quarantine and go.
 * - Every pushed object is checked (`receive.fsckObjects`, with `.git`, `.` and `..` tree
 *   entries made errors): a malformed object or a tree holding `.git` refuses the push.
 * - The user's repository config is never edited: http-backend runs with `-c` options.
 * - Bounded: the daemon kernel's server limits, an upload-pack request held in memory only up
 *   to `MAX_UPLOAD_REQUEST_BYTES`, a push streamed to receive-pack and cut at
 *   `maxRequestBytes` on the wire and once decompressed (413). It binds one address.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { authorize, newCredential } from '../../daemon/auth.ts';
import { answerBodyError, BodyError, decodedBody, readBody } from '../../daemon/body.ts';
import { boundedServer, type ServerLimits } from '../../daemon/limits.ts';
import { listen } from '../../daemon/listen.ts';
import { GATE_NAME, refusal } from './policy.ts';
import { gitCommonDir, hostGitEnv } from './repo.ts';
import { DEFAULT_SERVED_REFS, hideRefsConfig, isServed, pushPrefixRef, refPrefix, servedRefProblem } from './refs.ts';
import { FLUSH, parseReceivePackRequest, parseReport, pkt, readPkts, reportStatus, sideband, type RefCommand, type RefResult } from './pktline.ts';

export { DEFAULT_SERVED_REFS } from './refs.ts';

const execFileAsync = promisify(execFile);

/** The one path the repository is served under: `<url>` is `http://host:port/repo.git`. */
export const GATE_REPO_PATH = '/repo.git';
export const DEFAULT_MAX_REQUEST_BYTES = 256 * 1024 * 1024;
/** A fetch negotiation (wants and haves) is small; http-backend itself holds at most 10 MB of it. */
export const MAX_UPLOAD_REQUEST_BYTES = 16 * 1024 * 1024;
/** A push's command list (one line per ref) is read whole before receive-pack starts. */
const MAX_COMMAND_LIST_BYTES = 1024 * 1024;
/** receive-pack's answer is a report and progress: keep this much of it to read the report from. */
const MAX_REPORT_BYTES = 4 * 1024 * 1024;
/** Pushes remembered in `pushes`, newest last. */
const MAX_PUSHES_KEPT = 100;
/** A push may take a while to upload; a fetch is answered as fast as the client reads. */
const GATE_LIMITS: Partial<ServerLimits> = { requestTimeoutMs: 15 * 60_000, idleTimeoutMs: 120_000 };

export interface GitGateOptions {
  /** The host repository (work tree or bare). */
  readonly repo: string;
  /** Pushes may update `refs/heads/<prefix>*` only, e.g. `bottle/reviewer/`. */
  readonly prefix: string;
  /** The bearer token every request must carry; default a fresh one (`gate.token`). */
  readonly token?: string;
  /** Ref patterns fetches may see (`refs/heads/*`, `refs/tags/v1`…); default all branches and tags. */
  readonly servedRefs?: readonly string[];
  /** The one address to bind; default 127.0.0.1. */
  readonly host?: string;
  /** Default 0: any free port. */
  readonly port?: number;
  /** Largest push body accepted, on the wire and once decompressed; default 256 MiB. */
  readonly maxRequestBytes?: number;
  readonly limits?: Partial<ServerLimits>;
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
  readonly token: string;
  /** The ref prefixes fetches see (`refs/heads`, `refs/tags`, the bottle's own prefix). */
  readonly served: readonly string[];
  /** The latest pushes, in the order they finished. */
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

/** What http-backend reads on stdin: a whole body, or a head followed by a stream. */
type BackendInput = { readonly body: Buffer } | { readonly head: Buffer; readonly rest: Readable };

export async function startGitGate(options: GitGateOptions): Promise<GitGate> {
  const host = options.host ?? '127.0.0.1';
  const git = options.gitBinary ?? 'git';
  const maxBytes = options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
  const token = options.token ?? newCredential();
  const { prefix } = options;
  for (const pattern of options.servedRefs ?? []) {
    const problem = servedRefProblem(pattern);
    if (problem) throw new Error(`${GATE_NAME}: served ref ${JSON.stringify(pattern)} ${problem}`);
  }
  // The bottle's own branches are always served: it pushed them, and pulls them back.
  const served = [...new Set([...(options.servedRefs ?? DEFAULT_SERVED_REFS).map(refPrefix), pushPrefixRef(prefix)])];
  // The common dir: the refs a push updates live there, also for a linked worktree.
  let gitDir: string;
  try {
    gitDir = await gitCommonDir(options.repo, git);
  } catch (error) {
    throw new Error(`${GATE_NAME}: ${options.repo} is not a git repository (${error instanceof Error ? error.message : String(error)})`);
  }
  const pushes: GitPushAttempt[] = [];
  const remember = (push: GitPushAttempt): void => {
    pushes.push(push);
    if (pushes.length > MAX_PUSHES_KEPT) pushes.splice(0, pushes.length - MAX_PUSHES_KEPT);
  };
  const children = new Set<ChildProcess>();

  /** HEAD is shown only when it names a served branch: a detached or private HEAD stays hidden. */
  const headServed = async (): Promise<boolean> => {
    try {
      const { stdout } = await execFileAsync(git, ['--git-dir', gitDir, 'symbolic-ref', '-q', 'HEAD'], { env: hostGitEnv() });
      return isServed(stdout.trim(), served);
    } catch {
      return false;
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!authorize(req, res, token)) return;
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
    const call = { service, path: rest, query: url.search.slice(1) };
    if (req.method !== 'POST') return runBackend(req, res, { ...call, input: { body: Buffer.alloc(0) }, request: undefined });
    if (service === 'git-upload-pack') {
      const body = await readBody(req, { maxRawBytes: MAX_UPLOAD_REQUEST_BYTES });
      return runBackend(req, res, { ...call, input: { body }, request: undefined });
    }

    // A push: read its command list, decide, then stream the pack to receive-pack.
    const stream = decodedBody(req, { maxRawBytes: maxBytes });
    const { head, rest: pack } = await readCommandList(stream);
    const request = parseReceivePackRequest(head);
    if (typeof request === 'string') throw new HttpError(400, request);
    if (request.commands.length === 0) {
      // git's probe before a large push is a lone flush; anything after it is not a push.
      let extra = 0;
      for await (const chunk of pack as AsyncIterable<Buffer>) extra += chunk.length;
      if (extra > 0) throw new HttpError(400, 'data after an empty command list');
    }
    const refused = request.commands.map((command) => ({ command, reason: refusal(command, prefix) }));
    if (refused.some((r) => r.reason !== undefined)) {
      // The client is still sending its pack: read it to the end (counted, not kept), or curl
      // would see a broken pipe instead of the report.
      for await (const _ of pack) void _;
      const results: RefResult[] = refused.map(({ command, reason }) => ({
        ref: command.ref,
        ok: false,
        reason: reason ?? `${GATE_NAME}: not pushed, another ref in this push was refused`,
      }));
      remember({ at: new Date(), remoteAddress: req.socket.remoteAddress, commands: request.commands, decidedBy: 'gate', results, accepted: false });
      sendRefusal(req, res, request.capabilities, results);
      return;
    }
    await runBackend(req, res, { ...call, input: { head: withAtomic(head), rest: pack }, request });
  };

  const runBackend = async (
    req: IncomingMessage,
    res: ServerResponse,
    call: { service: string; path: string; query: string; input: BackendInput; request: ReturnType<typeof parseReceivePackRequest> | undefined },
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
      // Protocol v0 only: GIT_PROTOCOL is never set from the client's Git-Protocol header.
    };
    // A whole body has a length; a streamed push is read by receive-pack until EOF.
    if ('body' in call.input && req.method === 'POST') env.CONTENT_LENGTH = String(call.input.body.length);
    const hideHead = !(await headServed());
    const child = spawn(
      git,
      [
        '-c', 'http.receivepack=true',
        '-c', 'http.uploadpack=true',
        '-c', 'receive.denyNonFastForwards=true',
        '-c', 'receive.denyDeletes=true',
        '-c', 'receive.advertiseAtomic=true',
        '-c', 'receive.fsckObjects=true',
        '-c', 'transfer.fsckObjects=true',
        '-c', 'receive.fsck.hasDotgit=error',
        '-c', 'receive.fsck.hasDot=error',
        '-c', 'receive.fsck.hasDotdot=error',
        '-c', 'uploadpack.allowTipSHA1InWant=false',
        '-c', 'uploadpack.allowReachableSHA1InWant=false',
        '-c', 'uploadpack.allowAnySHA1InWant=false',
        ...hideRefsConfig('uploadpack', served, hideHead),
        ...hideRefsConfig('receive', served, hideHead),
        'http-backend',
      ],
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
    const stdin = child.stdin;
    stdin?.on('error', () => {});
    let inputError: unknown;
    if ('body' in call.input) {
      stdin?.end(call.input.body);
    } else if (stdin) {
      const { head, rest } = call.input;
      stdin.write(head);
      rest.on('error', (error) => {
        inputError = error;
        child.kill('SIGTERM');
      });
      rest.pipe(stdin);
    }

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
    if (inputError !== undefined) {
      if (!headersSent) throw inputError;
      res.destroy();
      return;
    }
    if (!headersSent) {
      const why = Buffer.concat(stderr).toString('utf8').trim().split('\n').at(-1) ?? '';
      throw new HttpError(500, `git http-backend failed (exit ${code ?? 'signal'})${why ? `: ${why}` : ''}`);
    }
    res.end();
    if (call.request && typeof call.request !== 'string' && call.request.commands.length > 0) {
      const parsed = parseReport(Buffer.concat(report), call.request.capabilities.includes('side-band-64k') || call.request.capabilities.includes('side-band'));
      const results = parsed?.results ?? call.request.commands.map((c) => ({ ref: c.ref, ok: false, reason: `no report from receive-pack (exit ${code ?? 'signal'})` }));
      remember({
        at: new Date(),
        remoteAddress: req.socket.remoteAddress,
        commands: call.request.commands,
        decidedBy: 'receive-pack',
        results,
        accepted: parsed?.unpack === 'ok' && results.length > 0 && results.every((r) => r.ok),
      });
    }
  };

  const server = boundedServer(
    (req, res) => {
      handle(req, res).catch((error: unknown) => {
        if (error instanceof BodyError) return answerBodyError(req, res, error, `${GATE_NAME}: `);
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
    },
    { ...GATE_LIMITS, ...options.limits },
  );
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
    token,
    served,
    pushes,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * Reads a push body up to the end of its command list (the first flush packet), at most
 * `MAX_COMMAND_LIST_BYTES`; the rest (the pack) is left in the stream for receive-pack.
 */
async function readCommandList(stream: Readable): Promise<{ head: Buffer; rest: Readable }> {
  let buffered = Buffer.alloc(0);
  for (;;) {
    const end = flushEnd(buffered);
    if (end !== undefined) {
      if (end < buffered.length) stream.unshift(buffered.subarray(end));
      return { head: buffered.subarray(0, end), rest: stream };
    }
    if (buffered.length > MAX_COMMAND_LIST_BYTES) throw new HttpError(400, `the command list is longer than ${MAX_COMMAND_LIST_BYTES} bytes`);
    const chunk = (stream.read() as Buffer | null) ?? (await nextChunk(stream));
    if (chunk === undefined) return { head: buffered, rest: stream };
    buffered = Buffer.concat([buffered, chunk]);
  }
}

function nextChunk(stream: Readable): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      stream.off('readable', onReadable);
      stream.off('end', onEnd);
      stream.off('error', onError);
    };
    const onReadable = (): void => {
      const chunk = stream.read() as Buffer | null;
      if (chunk === null) return;
      done();
      resolve(chunk);
    };
    const onEnd = (): void => {
      done();
      resolve(undefined);
    };
    const onError = (error: Error): void => {
      done();
      reject(error);
    };
    if (stream.readableEnded) return resolve(undefined);
    stream.on('readable', onReadable);
    stream.on('end', onEnd);
    stream.on('error', onError);
  });
}

/** The offset just past the first flush packet, or undefined while there is none. */
function flushEnd(buf: Buffer): number | undefined {
  for (const p of readPkts(buf)) if (p.kind === 'flush') return p.end;
  return undefined;
}

/** The command list with `atomic` added to its capabilities: receive-pack then updates all refs or none. */
function withAtomic(head: Buffer): Buffer {
  const out: Buffer[] = [];
  let done = false;
  for (const p of readPkts(head)) {
    if (p.kind === 'flush') {
      out.push(FLUSH);
      continue;
    }
    const nul = p.data.indexOf(0);
    if (done || nul < 0 || p.data.subarray(0, 8).toString('latin1') === 'shallow ') {
      out.push(pkt(p.data));
      continue;
    }
    done = true;
    const line = p.data.toString('latin1');
    const newline = line.endsWith('\n') ? '\n' : '';
    const caps = line.slice(nul + 1, line.length - newline.length).split(' ').filter(Boolean);
    if (!caps.includes('atomic')) caps.push('atomic');
    out.push(pkt(Buffer.from(`${line.slice(0, nul)}\0${caps.join(' ')}${newline}`, 'latin1')));
  }
  return Buffer.concat(out);
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
function sendRefusal(_req: IncomingMessage, res: ServerResponse, capabilities: readonly string[], results: readonly RefResult[]): void {
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
