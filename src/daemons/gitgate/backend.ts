/**
 * `git http-backend` run as a CGI for one request, both services: the `-c` options that make it
 * serve only the served refs in protocol v0 and check every pushed object (the user's
 * repository config is never edited), its input written or streamed to stdin, and its CGI answer
 * streamed back at the client's pace.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { HttpError } from './http-error.ts';
import { hideRefsConfig, isServed } from './refs.ts';
import { hostGitEnv } from './repo.ts';

const execFileAsync = promisify(execFile);

/** receive-pack's answer is a report and progress: keep this much of it to read the report from. */
const MAX_REPORT_BYTES = 4 * 1024 * 1024;
/** CGI headers longer than this are not http-backend's. */
const MAX_CGI_HEAD_BYTES = 64 * 1024;

/** The repository a gate serves, and the http-backend processes still running for it. */
export interface Backend {
  /** `git`, or the binary the gate was given. */
  readonly git: string;
  /** The repository's common dir (GIT_PROJECT_ROOT). */
  readonly gitDir: string;
  /** The served ref prefixes (`refs/heads`, …). */
  readonly served: readonly string[];
  /** Killed when the gate closes. */
  readonly children: Set<ChildProcess>;
}

/** What http-backend reads on stdin: a whole body, or a head followed by a stream. */
export type BackendInput = { readonly body: Buffer } | { readonly head: Buffer; readonly rest: Readable };

export interface BackendCall {
  /** PATH_INFO under the repository: `/info/refs`, `/git-upload-pack`, `/git-receive-pack`. */
  readonly path: string;
  readonly query: string;
  readonly input: BackendInput;
  /** Keep the start of the answer (a push's report) for the caller to read. */
  readonly keepAnswer: boolean;
}

export interface BackendResult {
  readonly code: number | null;
  /** The start of the answer, when the call asked for it. */
  readonly answer: Buffer | undefined;
}

/**
 * Answers `req` through http-backend. Throws an HttpError (500) when it failed before its
 * headers, or the input's error; resolves to undefined when the input failed after the answer
 * began (the response is then destroyed).
 */
export async function runBackend(backend: Backend, req: IncomingMessage, res: ServerResponse, call: BackendCall): Promise<BackendResult | undefined> {
  const env: Record<string, string> = {
    ...hostGitEnv(),
    GIT_PROJECT_ROOT: backend.gitDir,
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
  const hideHead = !(await headServed(backend));
  const child = spawn(
    backend.git,
    [
      '-c',
      'http.receivepack=true',
      '-c',
      'http.uploadpack=true',
      '-c',
      'receive.denyNonFastForwards=true',
      '-c',
      'receive.denyDeletes=true',
      '-c',
      'receive.advertiseAtomic=true',
      '-c',
      'receive.fsckObjects=true',
      '-c',
      'transfer.fsckObjects=true',
      '-c',
      'receive.fsck.hasDotgit=error',
      '-c',
      'receive.fsck.hasDot=error',
      '-c',
      'receive.fsck.hasDotdot=error',
      '-c',
      'uploadpack.allowTipSHA1InWant=false',
      '-c',
      'uploadpack.allowReachableSHA1InWant=false',
      '-c',
      'uploadpack.allowAnySHA1InWant=false',
      ...hideRefsConfig('uploadpack', backend.served, hideHead),
      ...hideRefsConfig('receive', backend.served, hideHead),
      'http-backend',
    ],
    { env, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  backend.children.add(child);
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

  const kept: Buffer[] = [];
  let keptBytes = 0;
  const keep = (chunk: Buffer): void => {
    if (keptBytes >= MAX_REPORT_BYTES) return;
    kept.push(chunk);
    keptBytes += chunk.length;
  };
  let head = Buffer.alloc(0);
  let headersSent = false;
  const stdout = child.stdout as NodeJS.ReadableStream;
  const onHead = (chunk: Buffer): void => {
    head = Buffer.concat([head, chunk]);
    const split = headerEnd(head);
    if (split === undefined) {
      if (head.length > MAX_CGI_HEAD_BYTES) child.kill('SIGTERM');
      return;
    }
    stdout.off('data', onHead);
    writeCgiHead(res, head.subarray(0, split.at));
    headersSent = true;
    const rest = head.subarray(split.at + split.length);
    if (call.keepAnswer) {
      keep(rest);
      stdout.on('data', keep);
    }
    if (rest.length) res.write(rest);
    // The pack can be large: let the client's pace hold http-backend back.
    stdout.pipe(res, { end: false });
  };
  stdout.on('data', onHead);
  const [code] = await exited;
  backend.children.delete(child);
  if (inputError !== undefined) {
    if (!headersSent) throw inputError;
    res.destroy();
    return undefined;
  }
  if (!headersSent) {
    const why = Buffer.concat(stderr).toString('utf8').trim().split('\n').at(-1) ?? '';
    throw new HttpError(500, `git http-backend failed (exit ${code ?? 'signal'})${why ? `: ${why}` : ''}`);
  }
  res.end();
  return { code, answer: call.keepAnswer ? Buffer.concat(kept) : undefined };
}

/** HEAD is shown only when it names a served branch: a detached or private HEAD stays hidden. */
async function headServed(backend: Backend): Promise<boolean> {
  try {
    const { stdout } = await execFileAsync(backend.git, ['--git-dir', backend.gitDir, 'symbolic-ref', '-q', 'HEAD'], { env: hostGitEnv() });
    return isServed(stdout.trim(), backend.served);
  } catch {
    return false;
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
