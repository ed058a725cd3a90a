import { describe, expect, it } from 'vitest';
import { packTar, unpackTar } from './tar.ts';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('tar', () => {
  it('round-trips files and directories with mode and owner', () => {
    const long = `${'d'.repeat(90)}/${'f'.repeat(90)}.md`;
    const archive = packTar([
      { path: 'skill', type: 'directory', mode: 0o755, uid: 1000, gid: 1000 },
      { path: 'skill/SKILL.md', type: 'file', mode: 0o644, uid: 1000, gid: 1000, data: bytes('# hi\n') },
      { path: 'skill/run.sh', type: 'file', mode: 0o755, uid: 1000, gid: 50, data: bytes('#!/bin/sh\n') },
      { path: long, type: 'file', mode: 0o600, uid: 0, gid: 0, data: new Uint8Array(1000).fill(7) },
    ]);
    expect(archive.length % 512).toBe(0);
    const entries = unpackTar(archive);
    expect(entries.map((e) => [e.path, e.type, e.mode.toString(8), e.uid, e.gid])).toEqual([
      ['skill', 'directory', '755', 1000, 1000],
      ['skill/SKILL.md', 'file', '644', 1000, 1000],
      ['skill/run.sh', 'file', '755', 1000, 50],
      [long, 'file', '600', 0, 0],
    ]);
    expect(new TextDecoder().decode(entries[1]?.data)).toBe('# hi\n');
    expect(entries[3]?.data).toEqual(new Uint8Array(1000).fill(7));
  });

  it('refuses unsafe paths both ways', () => {
    expect(() => packTar([{ path: '../x', type: 'file', mode: 0o644, uid: 0, gid: 0 }])).toThrow(/unsafe/);
    expect(() => packTar([{ path: '/etc/x', type: 'file', mode: 0o644, uid: 0, gid: 0 }])).toThrow(/unsafe/);
  });

  it('detects a corrupted header', () => {
    const archive = packTar([{ path: 'a', type: 'file', mode: 0o644, uid: 0, gid: 0, data: bytes('x') }]);
    archive[0] = 'b'.charCodeAt(0);
    expect(() => unpackTar(archive)).toThrow(/checksum/);
  });
});
