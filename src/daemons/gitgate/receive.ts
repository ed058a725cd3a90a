/**
 * A push through the gate: its command list read before receive-pack runs, the gate's policy
 * decided on it (./policy.ts), a refused push answered in the shape `git push` reports, an
 * allowed one made atomic, and receive-pack's own report read back into a `GitPushAttempt`.
 */
import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { HttpError } from './http-error.ts';
import {
  FLUSH,
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

/** The command list with `atomic` added to its capabilities: receive-pack then updates all refs or none. */
export function withAtomic(head: Buffer): Buffer {
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
    const caps = line
      .slice(nul + 1, line.length - newline.length)
      .split(' ')
      .filter(Boolean);
    if (!caps.includes('atomic')) caps.push('atomic');
    out.push(pkt(Buffer.from(`${line.slice(0, nul)}\0${caps.join(' ')}${newline}`, 'latin1')));
  }
  return Buffer.concat(out);
}

/** What receive-pack's answer (`code`, the start of its output) says became of each ref. */
export function receivePackVerdict(request: ReceivePackRequest, answer: Buffer, code: number | null): Pick<GitPushAttempt, 'results' | 'accepted'> {
  const parsed = parseReport(answer, request.capabilities.includes('side-band-64k') || request.capabilities.includes('side-band'));
  const results = parsed?.results ?? request.commands.map((c) => ({ ref: c.ref, ok: false, reason: `no report from receive-pack (exit ${code ?? 'signal'})` }));
  return { results, accepted: parsed?.unpack === 'ok' && results.length > 0 && results.every((r) => r.ok) };
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
