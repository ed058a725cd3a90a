import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { HttpError } from '../../daemon/http-error.ts';
import { FLUSH, parseReceivePackRequest, pkt, readPkts, reportStatus, sideband } from './pktline.ts';
import { gateRefusal, readPush, receivePackVerdict, withAtomic } from './receive.ts';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const ZERO = '0'.repeat(40);
const lines = (buf: Buffer): string[] => [...readPkts(buf)].map((p) => (p.kind === 'flush' ? '0000' : p.data.toString('latin1')));

describe('a push before receive-pack', () => {
  it('withAtomic adds atomic to the first command line only, after any shallow lines, once', () => {
    const head = Buffer.concat([
      pkt(`shallow ${A}\n`),
      pkt(`${A} ${B} refs/heads/x\0report-status side-band-64k\n`),
      pkt(`${ZERO} ${B} refs/heads/y\n`),
      FLUSH,
    ]);
    expect(lines(withAtomic(head))).toEqual([
      `shallow ${A}\n`,
      `${A} ${B} refs/heads/x\0report-status side-band-64k atomic\n`,
      `${ZERO} ${B} refs/heads/y\n`,
      '0000',
    ]);
    const already = Buffer.concat([pkt(`${A} ${B} refs/heads/x\0atomic report-status`), FLUSH]);
    expect(lines(withAtomic(already))).toEqual([`${A} ${B} refs/heads/x\0atomic report-status`, '0000']);
  });

  it('withAtomic asks for a report too: on the first command line when no line carries capabilities, on the first that does otherwise', () => {
    const none = Buffer.concat([pkt(`shallow ${A}\n`), pkt(`${A} ${B} refs/heads/x\n`), pkt(`${ZERO} ${B} refs/heads/y`), FLUSH, Buffer.from('PACK')]);
    expect(lines(withAtomic(none))).toEqual([`shallow ${A}\n`, `${A} ${B} refs/heads/x\0report-status atomic\n`, `${ZERO} ${B} refs/heads/y`, '0000']);
    // What follows the command list is left as it was.
    expect(withAtomic(none).subarray(-4).toString('latin1')).toBe('PACK');
    const second = Buffer.concat([pkt(`${A} ${B} refs/heads/x\n`), pkt(`${ZERO} ${B} refs/heads/y\0side-band-64k\n`), FLUSH]);
    expect(lines(withAtomic(second))).toEqual([`${A} ${B} refs/heads/x\n`, `${ZERO} ${B} refs/heads/y\0side-band-64k report-status atomic\n`, '0000']);
    // Capabilities on different lines count together, as receive-pack reads them.
    const spread = Buffer.concat([pkt(`${A} ${B} refs/heads/x\0report-status-v2\n`), pkt(`${ZERO} ${B} refs/heads/y\0atomic\n`), FLUSH]);
    expect(withAtomic(spread)).toEqual(spread);
    // A shallow line's capabilities are not receive-pack's: they do not count.
    const shallowCaps = Buffer.concat([pkt(`shallow ${A}\0report-status atomic\n`), pkt(`${A} ${B} refs/heads/x\n`), FLUSH]);
    expect(lines(withAtomic(shallowCaps))).toEqual([`shallow ${A}\0report-status atomic\n`, `${A} ${B} refs/heads/x\0report-status atomic\n`, '0000']);
    expect(withAtomic(FLUSH)).toEqual(FLUSH);
  });

  it('parseReceivePackRequest reads capabilities from every command line, none from shallow lines', () => {
    const request = parseReceivePackRequest(
      Buffer.concat([pkt(`shallow ${A}\0quiet\n`), pkt(`${A} ${B} refs/heads/x\n`), pkt(`${ZERO} ${B} refs/heads/y\0report-status side-band-64k\n`), FLUSH]),
    );
    expect(request).toMatchObject({ capabilities: ['report-status', 'side-band-64k'], commands: [{ ref: 'refs/heads/x' }, { ref: 'refs/heads/y' }] });
  });

  it('gateRefusal refuses all refs when one is refused, and none when all are allowed', () => {
    const ok = { old: ZERO, new: B, ref: 'refs/heads/bottle/r/x' };
    expect(gateRefusal([ok], 'bottle/r/')).toBeUndefined();
    expect(gateRefusal([ok, { old: A, new: ZERO, ref: 'refs/heads/bottle/r/y' }], 'bottle/r/')).toEqual([
      { ref: 'refs/heads/bottle/r/x', ok: false, reason: 'claude-bottle git gate: not pushed, another ref in this push was refused' },
      { ref: 'refs/heads/bottle/r/y', ok: false, reason: 'claude-bottle git gate: deleting refs is not allowed' },
    ]);
  });

  it('readPush leaves the pack in the stream, and refuses data after an empty command list', async () => {
    const push = await readPush(Readable.from([Buffer.concat([pkt(`${ZERO} ${B} refs/heads/x\0report-status\n`), FLUSH, Buffer.from('PACK…')])]));
    expect(push.request.commands).toEqual([{ old: ZERO, new: B, ref: 'refs/heads/x' }]);
    const rest: Buffer[] = [];
    for await (const chunk of push.pack) rest.push(chunk as Buffer);
    expect(Buffer.concat(rest).toString('utf8')).toBe('PACK…');
    await expect(readPush(Readable.from([Buffer.concat([FLUSH, Buffer.from('x')])]))).rejects.toMatchObject({
      status: 400,
      message: 'data after an empty command list',
    });
    expect((await readPush(Readable.from([FLUSH]))).request.commands).toEqual([]);
    // A body already refused (destroyed with its error before anyone read) rejects; it does not hang.
    const refused = new Readable({ read() {} });
    refused.on('error', () => undefined);
    refused.destroy(new HttpError(413, 'too large'));
    await new Promise((r) => setImmediate(r));
    await expect(readPush(refused)).rejects.toMatchObject({ status: 413 });
  });

  it("receivePackVerdict reads receive-pack's report, side-band or not; no report refuses every ref", () => {
    const request = parseReceivePackRequest(Buffer.concat([pkt(`${ZERO} ${B} refs/heads/x\0report-status side-band-64k\n`), FLUSH]));
    if (typeof request === 'string') throw new Error(request);
    const report = reportStatus([{ ref: 'refs/heads/x', ok: true }]);
    expect(receivePackVerdict(request, Buffer.concat([sideband(1, report), FLUSH]), 0)).toEqual({
      results: [{ ref: 'refs/heads/x', ok: true }],
      accepted: true,
    });
    expect(receivePackVerdict(request, Buffer.alloc(0), 1)).toEqual({
      results: [{ ref: 'refs/heads/x', ok: false, reason: 'no report from receive-pack (exit 1)' }],
      accepted: false,
    });
    const plain = parseReceivePackRequest(Buffer.concat([pkt(`${ZERO} ${B} refs/heads/x\0report-status\n`), FLUSH]));
    if (typeof plain === 'string') throw new Error(plain);
    const refused = reportStatus([{ ref: 'refs/heads/x', ok: false, reason: 'non-fast-forward' }]);
    expect(receivePackVerdict(plain, refused, 1)).toEqual({ results: [{ ref: 'refs/heads/x', ok: false, reason: 'non-fast-forward' }], accepted: false });
    // receive-pack knows only side-band-64k: asked for plain side-band, it answers without one.
    expect(receivePackVerdict({ commands: plain.commands, capabilities: ['report-status', 'side-band'] }, refused, 1)).toEqual({
      results: [{ ref: 'refs/heads/x', ok: false, reason: 'non-fast-forward' }],
      accepted: false,
    });
  });
});
