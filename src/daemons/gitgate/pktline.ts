/**
 * The pkt-line framing of git's wire protocol, just enough for the gate: read the command list
 * at the head of a receive-pack request, write a report-status (optionally inside side-band
 * channel 1, with messages on channel 2), and read a report back out of receive-pack's answer.
 *
 * A pkt-line is four hex digits of length (counting themselves) then the payload; `0000` is a
 * flush. See git's Documentation/gitprotocol-common.txt and gitprotocol-pack.txt.
 */

export const ZERO_OID = /^0+$/;
const MAX_PKT = 65520;
/** side-band-64k: one channel byte and at most 65515 bytes of data per packet. */
const MAX_SIDEBAND_DATA = MAX_PKT - 4 - 1;

export type Pkt = { readonly kind: 'flush' } | { readonly kind: 'data'; readonly data: Buffer };

/** Reads pkt-lines from `buf` at `offset`; stops at the end of the buffer or a bad length. */
export function* readPkts(buf: Buffer, offset = 0): Generator<Pkt & { readonly end: number }> {
  let at = offset;
  while (at + 4 <= buf.length) {
    const hex = buf.toString('latin1', at, at + 4);
    if (!/^[0-9a-f]{4}$/.test(hex)) return;
    const length = Number.parseInt(hex, 16);
    if (length === 0) {
      at += 4;
      yield { kind: 'flush', end: at };
      continue;
    }
    // 0001 (delim) and 0002 (response-end) belong to protocol v2, which push does not use.
    if (length < 4 || at + length > buf.length) return;
    yield { kind: 'data', data: buf.subarray(at + 4, at + length), end: at + length };
    at += length;
  }
}

export function pkt(data: string | Buffer): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  if (body.length + 4 > MAX_PKT) throw new RangeError(`pkt-line of ${body.length} bytes is too long`);
  return Buffer.concat([Buffer.from((body.length + 4).toString(16).padStart(4, '0'), 'latin1'), body]);
}

export const FLUSH = Buffer.from('0000', 'latin1');

export interface RefCommand {
  readonly old: string;
  readonly new: string;
  readonly ref: string;
}

export interface ReceivePackRequest {
  readonly commands: readonly RefCommand[];
  readonly capabilities: readonly string[];
  /** Byte offset of the pack (or push options) after the command list's flush. */
  readonly bodyOffset: number;
}

/**
 * The command list of a receive-pack request: optional `shallow <oid>` lines, then
 * `<old> <new> <ref>` lines, then a flush. Capabilities are read as receive-pack reads them
 * (git's `read_head_info`): after a `\0` on any command line, not only the first, and never
 * from a shallow line. Returns a string describing the problem when the request is not one.
 */
export function parseReceivePackRequest(body: Buffer): ReceivePackRequest | string {
  const commands: RefCommand[] = [];
  const capabilities = new Set<string>();
  for (const p of readPkts(body)) {
    if (p.kind === 'flush') return { commands, capabilities: [...capabilities], bodyOffset: p.end };
    let line = p.data.toString('utf8');
    if (line.endsWith('\n')) line = line.slice(0, -1);
    if (line.startsWith('shallow ')) continue;
    const nul = line.indexOf('\0');
    if (nul >= 0) {
      for (const capability of line.slice(nul + 1).split(' ')) if (capability) capabilities.add(capability);
      line = line.slice(0, nul);
    }
    if (line === 'push-cert') return 'signed pushes (push-cert) are not supported by the gate';
    const match = /^([0-9a-f]{40}|[0-9a-f]{64}) ([0-9a-f]{40}|[0-9a-f]{64}) (\S+)$/.exec(line);
    if (!match) return `not a ref update command: ${JSON.stringify(line.slice(0, 200))}`;
    commands.push({ old: match[1] as string, new: match[2] as string, ref: match[3] as string });
  }
  // An empty body or a lone flush is git's probe request before a large push (see remote-curl's probe_rpc).
  return body.length === 0 ? { commands, capabilities: [], bodyOffset: 0 } : 'the command list is truncated (no flush packet)';
}

export interface RefResult {
  readonly ref: string;
  readonly ok: boolean;
  readonly reason?: string;
}

/** `unpack ok`, then `ok <ref>` / `ng <ref> <reason>` lines, then a flush (report-status, v1 and v2 alike). */
export function reportStatus(results: readonly RefResult[]): Buffer {
  const lines = [pkt('unpack ok\n'), ...results.map((r) => pkt(r.ok ? `ok ${r.ref}\n` : `ng ${r.ref} ${oneLine(r.reason ?? 'refused')}\n`)), FLUSH];
  return Buffer.concat(lines);
}

/** Wraps `data` in side-band packets on `channel` (1 data, 2 progress/messages shown as `remote: `). */
export function sideband(channel: 1 | 2 | 3, data: Buffer, large = true): Buffer {
  // Plain `side-band` allows 1000-byte packets; `side-band-64k` 65520.
  const max = large ? MAX_SIDEBAND_DATA : 1000 - 4 - 1;
  const out: Buffer[] = [];
  for (let at = 0; at < data.length; at += max) {
    out.push(pkt(Buffer.concat([Buffer.from([channel]), data.subarray(at, at + max)])));
  }
  return Buffer.concat(out);
}

/**
 * The ref results in receive-pack's answer, side-band or not; undefined when there is no
 * report in it (the client asked for none, or receive-pack failed before reporting).
 */
export function parseReport(response: Buffer, sidebandUsed: boolean): { unpack: string; results: RefResult[] } | undefined {
  let report = response;
  if (sidebandUsed) {
    const parts: Buffer[] = [];
    for (const p of readPkts(response)) if (p.kind === 'data' && p.data[0] === 1) parts.push(p.data.subarray(1));
    report = Buffer.concat(parts);
  }
  let unpack: string | undefined;
  const results: RefResult[] = [];
  for (const p of readPkts(report)) {
    if (p.kind === 'flush') break;
    const line = p.data.toString('utf8').replace(/\n$/, '');
    if (line.startsWith('unpack ')) unpack = line.slice('unpack '.length);
    else if (line.startsWith('ok ')) results.push({ ref: line.slice(3), ok: true });
    else if (line.startsWith('ng ')) {
      const [ref = '', ...reason] = line.slice(3).split(' ');
      results.push({ ref, ok: false, reason: reason.join(' ') });
    }
    // `option …` lines (report-status-v2) qualify the previous ref; the gate does not need them.
  }
  return unpack === undefined ? undefined : { unpack, results };
}

function oneLine(text: string): string {
  return text.replace(/[\r\n\0]+/g, ' ').trim();
}
