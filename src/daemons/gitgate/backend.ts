/**
 * `git http-backend` run as a CGI for one request, both services: the `-c` options that make it
 * serve only the served refs in protocol v0 and check every pushed object (the user's
 * repository config is never edited), the request body streamed to its stdin, and its CGI answer
 * streamed back at the client's pace.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { finished, type Readable } from 'node:stream';
import { promisify } from 'node:util';
import { HttpError } from '../../daemon/http-error.ts';
import { hideRefsConfig, isServed } from './refs.ts';
import { hostGitEnv } from './repo.ts';

const execFileAsync = promisify(execFile);

/**
 * A fetch request (wants and haves) is small; http-backend holds one whole in memory, and
 * refuses one of 10 MiB or more by default: the gate refuses it first (413).
 */
export const MAX_UPLOAD_REQUEST_BYTES = 10 * 1024 * 1024;
/** receive-pack's answer is a report and progress: keep this much of it to read the report from. */
const MAX_REPORT_BYTES = 4 * 1024 * 1024;
/** CGI headers longer than this are not http-backend's. */
const MAX_CGI_HEAD_BYTES = 64 * 1024;
/**
 * http-backend writes its headers before it reads the body; the gate holds them (and at most this
 * much output after them) until the body has been read, so a body refused midway still gets its
 * 413. Past this much output the answer starts: holding more could stall receive-pack's progress.
 */
const MAX_HELD_BYTES = 64 * 1024;

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

/** What http-backend reads on stdin: `head` (a push's command list, rewritten), then `rest` to its end. */
export interface BackendInput {
  readonly head?: Buffer;
  readonly rest: Readable;
}

export interface BackendCall {
  /** PATH_INFO under the repository: `/info/refs`, `/git-upload-pack`, `/git-receive-pack`. */
  readonly path: string;
  readonly query: string;
  /** The request body; none for a GET. */
  readonly input?: BackendInput;
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
 * headers, or the input's error when that came before the answer began; resolves to undefined
 * when the input failed after (the response is then destroyed).
 */
export async function runBackend(backend: Backend, req: IncomingMessage, res: ServerResponse, call: BackendCall): Promise<BackendResult | undefined> {
  const env: Record<string, string> = {
    ...hostGitEnv(),
    GIT_PROJECT_ROOT: backend.gitDir,
    GIT_HTTP_EXPORT_ALL: '1',
    // No CONTENT_LENGTH: http-backend reads the body to EOF. It buffers a fetch request whole up to
    // this (not the repository's http.maxRequestBuffer); the gate's own cap is one byte below.
    GIT_HTTP_MAX_REQUEST_BUFFER: String(MAX_UPLOAD_REQUEST_BYTES + 1),
    PATH_INFO: call.path,
    REQUEST_METHOD: req.method ?? 'GET',
    QUERY_STRING: call.query,
    REMOTE_ADDR: req.socket.remoteAddress ?? '',
    REMOTE_USER: 'bottle',
    CONTENT_TYPE: req.headers['content-type'] ?? '',
    // Protocol v0 only: GIT_PROTOCOL is never set from the client's Git-Protocol header.
  };
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
    if (child.exitCode === null) stopBackend(child);
  });
  const stderr: Buffer[] = [];
  child.stderr?.on('data', (chunk: Buffer) => stderr.length < 64 && stderr.push(chunk));
  const stdin = child.stdin;
  stdin?.on('error', () => {});
  let inputError: unknown;
  let inputEnded = call.input === undefined;
  if (!call.input) {
    stdin?.end();
  } else if (stdin) {
    const { head, rest } = call.input;
    if (head) stdin.write(head);
    // `finished`, not 'error' and 'end' listeners: a body refused while the gate read the command
    // list or waited for git is already destroyed, and would emit neither again.
    finished(rest, { writable: false }, (error) => {
      if (error) {
        inputError = error;
        stopBackend(child);
      } else {
        inputEnded = true;
        answer();
      }
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
  const stdout = child.stdout as NodeJS.ReadableStream;
  let head = Buffer.alloc(0);
  let cgiHead: Buffer | undefined;
  const held: Buffer[] = [];
  let heldBytes = 0;
  let answering = false;
  /** Starts the answer once http-backend's head is in and the body read (or too much is held). */
  const answer = (force = false): void => {
    if (answering || cgiHead === undefined || !(inputEnded || force)) return;
    answering = true;
    stdout.off('data', hold);
    writeCgiHead(res, cgiHead);
    for (const chunk of held.splice(0)) res.write(chunk);
    // The pack can be large: let the client's pace hold http-backend back.
    stdout.pipe(res, { end: false });
  };
  const hold = (chunk: Buffer): void => {
    held.push(chunk);
    heldBytes += chunk.length;
    if (heldBytes > MAX_HELD_BYTES) answer(true);
  };
  const onHead = (chunk: Buffer): void => {
    head = Buffer.concat([head, chunk]);
    const split = headerEnd(head);
    if (split === undefined) {
      if (head.length > MAX_CGI_HEAD_BYTES) stopBackend(child);
      return;
    }
    stdout.off('data', onHead);
    cgiHead = head.subarray(0, split.at);
    const rest = head.subarray(split.at + split.length);
    if (call.keepAnswer) {
      keep(rest);
      stdout.on('data', keep);
    }
    stdout.on('data', hold);
    if (rest.length) hold(rest);
    answer();
  };
  stdout.on('data', onHead);
  const [code] = await exited;
  backend.children.delete(child);
  if (inputError !== undefined) {
    if (!answering) throw inputError;
    res.destroy();
    return undefined;
  }
  if (cgiHead === undefined) {
    const why = Buffer.concat(stderr).toString('utf8').trim().split('\n').at(-1) ?? '';
    throw new HttpError(500, `git http-backend failed (exit ${code ?? 'signal'})${why ? `: ${why}` : ''}`);
  }
  // It answered without reading the whole body (an early refusal): answer now.
  answer(true);
  res.end();
  return { code, answer: call.keepAnswer ? Buffer.concat(kept) : undefined };
}

/**
 * Ends an http-backend and the git it runs. SIGTERM reaches http-backend alone: its receive-pack
 * would wait on stdin and its upload-pack block on stdout for ever, holding their pipes (and the
 * gate's turn). Closing our ends gives them EOF and EPIPE.
 */
export function stopBackend(child: ChildProcess): void {
  child.kill('SIGTERM');
  child.stdin?.destroy();
  child.stdout?.destroy();
  child.stderr?.destroy();
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
