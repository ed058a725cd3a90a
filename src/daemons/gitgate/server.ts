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
 *   receive-pack for an atomic update (and a report, which `pushes` records) even when the
 *   client asked for neither. Objects of a refused push stay in receive-pack's quarantine and go.
 * - Every pushed object is checked (`receive.fsckObjects`, with `.git`, `.` and `..` tree
 *   entries made errors): a malformed object or a tree holding `.git` refuses the push.
 * - The user's repository config is never edited: http-backend runs with `-c` options.
 * - Bounded: the daemon kernel's server limits; request bodies streamed to http-backend and cut
 *   (413) at `MAX_UPLOAD_REQUEST_BYTES` for a fetch, `maxRequestBytes` for a push, on the wire
 *   and once decompressed; at most `concurrency.maxRunning` requests served at once (each runs
 *   git processes), a bounded number waiting for a turn, `503` beyond. It binds one address.
 *
 * This module is the HTTP front (credential, routes, error answers, the listening server);
 * ./backend.ts runs `git http-backend` for both services, ./receive.ts holds what a push goes
 * through before and after receive-pack.
 */
import type { ChildProcess } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { authorize, newCredential } from '../../daemon/auth.ts';
import { decodedBody } from '../../daemon/body.ts';
import { answerHttpError, HttpError } from '../../daemon/http-error.ts';
import { boundedServer, type ConcurrencyLimits, DEFAULT_BACKEND_CONCURRENCY, type ServerLimits, Slots } from '../../daemon/limits.ts';
import { listen } from '../../daemon/listen.ts';
import { type Backend, type BackendCall, MAX_UPLOAD_REQUEST_BYTES, runBackend, stopBackend } from './backend.ts';
import { GATE_NAME } from './policy.ts';
import { asSent, drainPack, type GitPushAttempt, gateRefusal, readPush, receivePackVerdict, sendRefusal } from './receive.ts';
import { DEFAULT_SERVED_REFS, pushPrefixRef, refPrefix, servedRefProblem } from './refs.ts';
import { gitCommonDir } from './repo.ts';

export { MAX_UPLOAD_REQUEST_BYTES } from './backend.ts';
export { DEFAULT_SERVED_REFS } from './refs.ts';
export type { GitPushAttempt } from './receive.ts';

/** The one path the repository is served under: `<url>` is `http://host:port/repo.git`. */
export const GATE_REPO_PATH = '/repo.git';
export const DEFAULT_MAX_REQUEST_BYTES = 256 * 1024 * 1024;
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
  /** Requests served at once (each runs git processes) and waiting; default `DEFAULT_BACKEND_CONCURRENCY`. */
  readonly concurrency?: Partial<ConcurrencyLimits>;
  /** `git`; default from PATH. */
  readonly gitBinary?: string;
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
  /** Requests being served now (each running git) and waiting for a turn. */
  readonly load: { readonly running: number; readonly waiting: number };
  close(): Promise<void>;
}

const SERVICES = new Set(['git-upload-pack', 'git-receive-pack']);

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
  const backend: Backend = { git, gitDir, served, children: new Set<ChildProcess>() };
  const slots = new Slots({ ...DEFAULT_BACKEND_CONCURRENCY, ...options.concurrency });
  const pushes: GitPushAttempt[] = [];
  const remember = (push: GitPushAttempt): void => {
    pushes.push(push);
    if (pushes.length > MAX_PUSHES_KEPT) pushes.splice(0, pushes.length - MAX_PUSHES_KEPT);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!authorize(req, res, token)) return;
    const url = new URL(req.url ?? '/', 'http://gate');
    if (!url.pathname.startsWith(`${GATE_REPO_PATH}/`)) throw new HttpError(404, `not found; the repository is ${GATE_REPO_PATH}`);
    const path = url.pathname.slice(GATE_REPO_PATH.length);
    let service: string;
    if (path === '/info/refs') {
      if (req.method !== 'GET') throw new HttpError(405, 'info/refs takes GET');
      service = url.searchParams.get('service') ?? '';
      if (!SERVICES.has(service)) throw new HttpError(403, 'only smart HTTP is served (service=git-upload-pack or git-receive-pack)');
    } else if (path === '/git-upload-pack' || path === '/git-receive-pack') {
      if (req.method !== 'POST') throw new HttpError(405, `${path.slice(1)} takes POST`);
      service = path.slice(1);
    } else {
      throw new HttpError(404, 'not found; only smart HTTP is served');
    }
    // A turn first, before any body is read: a waiting request costs a socket, nothing more.
    const gone = new AbortController();
    res.once('close', () => gone.abort(new Error('the client went away')));
    const release = await slots.take(gone.signal);
    if (!release) throw new HttpError(503, 'too many git requests at once; retry', { 'Retry-After': '1' });
    try {
      await serve(req, res, service, { path, query: url.search.slice(1), keepAnswer: false });
    } finally {
      release();
    }
  };

  const serve = async (req: IncomingMessage, res: ServerResponse, service: string, call: BackendCall): Promise<void> => {
    if (req.method !== 'POST') {
      await runBackend(backend, req, res, call);
      return;
    }
    if (service === 'git-upload-pack') {
      await runBackend(backend, req, res, { ...call, input: { rest: decodedBody(req, { maxRawBytes: MAX_UPLOAD_REQUEST_BYTES }) } });
      return;
    }

    // A push: read its command list, decide, then stream the pack to receive-pack.
    const push = await readPush(decodedBody(req, { maxRawBytes: maxBytes }));
    const { commands } = push.request;
    const refused = gateRefusal(commands, prefix);
    if (refused) {
      await drainPack(push);
      remember({ at: new Date(), remoteAddress: req.socket.remoteAddress, commands, decidedBy: 'gate', results: refused, accepted: false });
      sendRefusal(res, push.request.capabilities, refused);
      return;
    }
    // receive-pack gets the list with `atomic` and a report asked for; the verdict reads that report.
    const sent = asSent(push);
    const done = await runBackend(backend, req, res, { ...call, input: { head: sent.head, rest: push.pack }, keepAnswer: true });
    if (done?.answer && commands.length > 0) {
      remember({
        at: new Date(),
        remoteAddress: req.socket.remoteAddress,
        commands,
        decidedBy: 'receive-pack',
        ...receivePackVerdict(sent.request, done.answer, done.code),
      });
    }
  };

  const server = boundedServer(
    (req, res) => {
      handle(req, res).catch((error: unknown) => {
        const refused = error instanceof HttpError ? error : new HttpError(500, error instanceof Error ? error.message : String(error));
        answerHttpError(req, res, refused, `${GATE_NAME}: `);
      });
    },
    { ...GATE_LIMITS, ...options.limits },
  );
  const listening = await listen(server, host, options.port);
  const { port, hostInUrl } = listening;
  const close = (): Promise<void> => {
    for (const child of backend.children) stopBackend(child);
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
    load: {
      get running() {
        return slots.running;
      },
      get waiting() {
        return slots.waiting;
      },
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
