/**
 * A push through the gate: its command list read before receive-pack runs, the gate's policy
 * decided on it (./policy.ts), a refused push answered in the shape `git push` reports, an
 * allowed one made atomic, and receive-pack's own report read back into a `GitPushAttempt`.
 *
 * Not a pre-receive hook (`core.hooksPath`): a hook runs after the whole pack is received and
 * unpacked into the host repository's quarantine, so a refused push would still have cost the
 * host its bytes, and the policy would live in a script outside this process's bounds and tests.
 * Reading the command list first refuses before any pack byte reaches receive-pack.
 */
import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { HttpError } from '../../daemon/http-error.ts';
import {
  parseReceivePackRequest,
  parseReport,
  pkt,
  readPkts,
  type ReceivePackRequest,
  type RefCommand,
  type RefResult,
  reportStatus,
  sideband,
} from './pktline.ts';
import { GATE_NAME, refusal } from './policy.ts';

/** A push's command list (one line per ref) is read whole before receive-pack starts. */
const MAX_COMMAND_LIST_BYTES = 1024 * 1024;

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

/** A push's request: its parsed command list, the list's bytes, and the rest of the body (the pack). */
export interface Push {
  readonly request: ReceivePackRequest;
  readonly head: Buffer;
  readonly pack: Readable;
}

/** Reads a push's command list from its (decoded) body; the pack stays in the stream for receive-pack. */
export async function readPush(body: Readable): Promise<Push> {
  const { head, rest: pack } = await readCommandList(body);
  const request = parseReceivePackRequest(head);
  if (typeof request === 'string') throw new HttpError(400, request);
  if (request.commands.length === 0) {
    // git's probe before a large push is a lone flush; anything after it is not a push.
    let extra = 0;
    for await (const chunk of pack as AsyncIterable<Buffer>) extra += chunk.length;
    if (extra > 0) throw new HttpError(400, 'data after an empty command list');
  }
  return { request, head, pack };
}

/** Every ref's result when the gate's policy refuses any ref of the push (all or nothing); undefined when all may go on. */
export function gateRefusal(commands: readonly RefCommand[], prefix: string): RefResult[] | undefined {
  const refused = commands.map((command) => ({ command, reason: refusal(command, prefix) }));
  if (!refused.some((r) => r.reason !== undefined)) return undefined;
  return refused.map(({ command, reason }) => ({
    ref: command.ref,
    ok: false,
    reason: reason ?? `${GATE_NAME}: not pushed, another ref in this push was refused`,
  }));
}

/**
 * Reads a refused push's pack to the end (counted, not kept): the client is still sending it,
 * and would see a broken pipe instead of the report.
 */
export async function drainPack(push: Push): Promise<void> {
  for await (const _ of push.pack) void _;
}

/**
 * The command list as receive-pack must see it: with `atomic` (every ref updated or none) and a
 * report to read back (`report-status`, unless the client asked for one). receive-pack takes
 * capabilities from every command line carrying a `\0`: they go on the first such line, or,
 * when no line carries any (a hand-written push), after a `\0` on the first command line.
 */
export function withAtomic(head: Buffer): Buffer {
  const capabilities = new Set<string>();
  let first: { start: number; end: number; data: Buffer } | undefined;
  let withCaps: typeof first;
  for (const p of readPkts(head)) {
    if (p.kind === 'flush') break;
    if (p.data.subarray(0, 8).toString('latin1') === 'shallow ') continue;
    const line = { start: p.end - 4 - p.data.length, end: p.end, data: p.data };
    first ??= line;
    const nul = p.data.indexOf(0);
    if (nul < 0) continue;
    withCaps ??= line;
    for (const capability of splitCapabilities(p.data.subarray(nul + 1))) capabilities.add(capability);
  }
  const target = withCaps ?? first;
  if (!target) return head;
  const reported = capabilities.has('report-status') || capabilities.has('report-status-v2');
  const missing = [...(reported ? [] : ['report-status']), 'atomic'].filter((c) => !capabilities.has(c));
  if (missing.length === 0) return head;
  const text = target.data.toString('latin1');
  const newline = text.endsWith('\n') ? '\n' : '';
  const line = text.slice(0, text.length - newline.length);
  const nul = line.indexOf('\0');
  const command = nul < 0 ? line : line.slice(0, nul);
  const own = nul < 0 ? [] : splitCapabilities(Buffer.from(line.slice(nul + 1), 'latin1'));
  const rewritten = pkt(Buffer.from(`${command}\0${[...own, ...missing].join(' ')}${newline}`, 'latin1'));
  return Buffer.concat([head.subarray(0, target.start), rewritten, head.subarray(target.end)]);
}

function splitCapabilities(list: Buffer): string[] {
  return list.toString('latin1').replace(/\n$/, '').split(' ').filter(Boolean);
}

/**
 * What becomes of each ref, from receive-pack's answer (`code`, the start of its output).
 * `request` is the command list as receive-pack read it (after `withAtomic`): its capabilities
 * say how it answered. receive-pack multiplexes its answer only for `side-band-64k`: plain
 * `side-band` is not among its capabilities.
 */
export function receivePackVerdict(
  request: Pick<ReceivePackRequest, 'commands' | 'capabilities'>,
  answer: Buffer,
  code: number | null,
): Pick<GitPushAttempt, 'results' | 'accepted'> {
  const parsed = parseReport(answer, request.capabilities.includes('side-band-64k'));
  const results = parsed?.results ?? request.commands.map((c) => ({ ref: c.ref, ok: false, reason: `no report from receive-pack (exit ${code ?? 'signal'})` }));
  return { results, accepted: parsed?.unpack === 'ok' && results.length > 0 && results.every((r) => r.ok) };
}

/** The push's command list as receive-pack gets it (`withAtomic`), and that list parsed. */
export function asSent(push: Push): { head: Buffer; request: ReceivePackRequest } {
  const head = withAtomic(push.head);
  const request = parseReceivePackRequest(head);
  if (typeof request === 'string') throw new HttpError(400, request);
  return { head, request };
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
    // A body refused while nobody was reading is already destroyed: it will emit nothing more.
    if (stream.destroyed) return reject(stream.errored ?? new Error('the request body was cut short'));
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

/**
 * A receive-pack answer refusing every ref, in the shape the client asked for: report-status
 * (inside side-band channel 1 when it asked for side-band), and the reasons on channel 2 too,
 * which `git push` prints as `remote: …` lines.
 */
export function sendRefusal(res: ServerResponse, capabilities: readonly string[], results: readonly RefResult[]): void {
  const report = reportStatus(results);
  const large = capabilities.includes('side-band-64k');
  const useSideband = large || capabilities.includes('side-band');
  let body = report;
  if (useSideband) {
    const messages = results
      .filter((r) => !r.ok && !r.reason?.includes('another ref'))
      .map((r) => `error: ${r.ref}: ${r.reason}\n`)
      .join('');
    body = Buffer.concat([sideband(2, Buffer.from(messages, 'utf8'), large), sideband(1, report, large), Buffer.from('0000', 'latin1')]);
  }
  res.writeHead(200, {
    'Content-Type': 'application/x-git-receive-pack-result',
    'Cache-Control': 'no-cache, max-age=0, must-revalidate',
    'Content-Length': String(body.length),
  });
  res.end(body);
}
