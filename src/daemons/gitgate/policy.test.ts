import { describe, expect, it } from 'vitest';
import { FLUSH, parseReceivePackRequest, parseReport, pkt, reportStatus, sideband } from './pktline.ts';
import { branchPrefixProblem, defaultBranchPrefix, refusal } from './policy.ts';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const Z = '0'.repeat(40);

describe('gate policy', () => {
  it('allows creating and updating branches under the prefix only; never a deletion', () => {
    const prefix = defaultBranchPrefix('rev');
    expect(prefix).toBe('bottle/rev/');
    expect(refusal({ old: Z, new: A, ref: 'refs/heads/bottle/rev/x' }, prefix)).toBeUndefined();
    expect(refusal({ old: A, new: B, ref: 'refs/heads/bottle/rev/deep/er' }, prefix)).toBeUndefined();
    for (const ref of [
      'refs/heads/main',
      'refs/heads/bottle/rev/',
      'refs/heads/bottle/revx/y',
      'refs/tags/bottle/rev/x',
      'refs/bottle/rev/x',
      'bottle/rev/x',
      'refs/heads/bottle/rev',
    ]) {
      expect(refusal({ old: Z, new: A, ref }, prefix), ref).toMatch(/only branches bottle\/rev\/\* may be pushed/);
    }
    expect(refusal({ old: A, new: Z, ref: 'refs/heads/bottle/rev/x' }, prefix)).toMatch(/deleting refs is not allowed/);
  });

  it('branch prefixes: a start of a branch name', () => {
    for (const ok of ['bottle/rev/', 'agents-', 'a/b.c/d_e-']) expect(branchPrefixProblem(ok), ok).toBeUndefined();
    for (const bad of ['', '/a/', 'a//b/', 'a/../b/', '.a/', 'a/.b/', 'a.lock/b/', 'a b/', 'a~/', 'a:b/', 'a^/', '-a/', 'x'.repeat(201)]) {
      expect(branchPrefixProblem(bad), bad).toBeDefined();
    }
  });
});

describe('pkt-lines', () => {
  it('reads the command list of a receive-pack request, capabilities from the first line, shallow lines skipped', () => {
    const body = Buffer.concat([
      pkt(`shallow ${A}\n`),
      pkt(`${Z} ${A} refs/heads/x\0report-status side-band-64k agent=git/2\n`),
      pkt(`${A} ${Z} refs/heads/y\n`),
      FLUSH,
      Buffer.from('PACK...'),
    ]);
    const parsed = parseReceivePackRequest(body);
    expect(parsed).toEqual({
      commands: [
        { old: Z, new: A, ref: 'refs/heads/x' },
        { old: A, new: Z, ref: 'refs/heads/y' },
      ],
      capabilities: ['report-status', 'side-band-64k', 'agent=git/2'],
      bodyOffset: body.length - 'PACK...'.length,
    });
    expect(parseReceivePackRequest(Buffer.alloc(0))).toMatchObject({ commands: [] });
    expect(parseReceivePackRequest(FLUSH)).toMatchObject({ commands: [] });
    expect(parseReceivePackRequest(pkt(`${Z} ${A} refs/heads/x\n`))).toMatch(/truncated/);
    expect(parseReceivePackRequest(Buffer.concat([pkt('hello\n'), FLUSH]))).toMatch(/not a ref update command/);
    expect(parseReceivePackRequest(Buffer.concat([pkt('push-cert\0report-status\n'), FLUSH]))).toMatch(/signed pushes/);
  });

  it('writes a report-status that reads back, plain and in side-band packets of the right size', () => {
    const results = [
      { ref: 'refs/heads/a', ok: true },
      { ref: 'refs/heads/b', ok: false, reason: 'no\nway' },
    ];
    const report = reportStatus(results);
    expect(report.toString()).toBe('000eunpack ok\n0014ok refs/heads/a\n001bng refs/heads/b no way\n0000');
    expect(parseReport(report, false)).toEqual({ unpack: 'ok', results: [results[0], { ref: 'refs/heads/b', ok: false, reason: 'no way' }] });
    const wrapped = Buffer.concat([sideband(2, Buffer.from('progress\n')), sideband(1, report), FLUSH]);
    expect(parseReport(wrapped, true)?.results).toHaveLength(2);
    const big = sideband(1, Buffer.alloc(3000, 0x61), false);
    expect(big.subarray(0, 4).toString()).toBe('03e8');
    expect(() => pkt(Buffer.alloc(70000))).toThrow(RangeError);
    expect(parseReport(Buffer.from('0000'), false)).toBeUndefined();
  });
});
