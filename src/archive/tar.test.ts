import { Header } from 'tar';
import { describe, expect, it } from 'vitest';
import { packTar, type TarEntry, unpackTar } from './tar.ts';

const bytes = (s: string) => new TextEncoder().encode(s);

/** A one-entry archive written without our checks, to feed unpackTar what packTar refuses. */
function rawArchive(path: string, type: 'File' | 'SymbolicLink' = 'File', data = bytes('x')): Uint8Array {
  const header = Buffer.alloc(512);
  new Header({
    path,
    type,
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: type === 'File' ? data.length : 0,
    mtime: new Date(0),
    ...(type === 'SymbolicLink' ? { linkpath: '/etc/passwd' } : {}),
  }).encode(header, 0);
  const body = type === 'File' ? [data, new Uint8Array(512 - data.length)] : [];
  return new Uint8Array(Buffer.concat([header, ...body, Buffer.alloc(1024)]));
}

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
    for (const path of ['../x', '/etc/x', 'a/../../x', 'a\u0000b', '']) {
      expect(() => packTar([{ path, type: 'file', mode: 0o644, uid: 0, gid: 0 }]), JSON.stringify(path)).toThrow(/unsafe/);
    }
    expect(() => packTar([{ path: '../d', type: 'directory', mode: 0o755, uid: 0, gid: 0 }])).toThrow(/unsafe/);
    for (const path of ['../escape', '/etc/cron.d/x', 'a/../../b']) {
      expect(() => unpackTar(rawArchive(path)), path).toThrow(/unsafe entry path/);
    }
  });

  it('detects a corrupted header', () => {
    const archive = packTar([{ path: 'a', type: 'file', mode: 0o644, uid: 0, gid: 0, data: bytes('x') }]);
    archive[0] = 'b'.charCodeAt(0);
    expect(() => unpackTar(archive)).toThrow(/checksum/);
  });

  it('detects a truncated archive', () => {
    const archive = packTar([{ path: 'a', type: 'file', mode: 0o644, uid: 0, gid: 0, data: new Uint8Array(2000) }]);
    expect(() => unpackTar(archive.subarray(0, 1024))).toThrow(/tar: .*(Truncated|truncated)/);
  });

  it("writes modes exactly as given: sticky and setuid bits are the caller's policy", () => {
    const entries: TarEntry[] = [
      { path: 'shared', type: 'directory', mode: 0o1777, uid: 0, gid: 0 },
      { path: 'shared/tool', type: 'file', mode: 0o4755, uid: 0, gid: 0, data: bytes('t') },
      { path: 'shared/group', type: 'file', mode: 0o2750, uid: 0, gid: 0, data: bytes('g') },
      { path: 'shared/not-a-type-bit', type: 'file', mode: 0o100644, uid: 0, gid: 0, data: bytes('m') },
    ];
    expect(unpackTar(packTar(entries)).map((e) => e.mode.toString(8))).toEqual(['1777', '4755', '2750', '644']);
  });

  it('carries what ustar cannot hold in a pax header: paths over 255 bytes, ids over 2097151', () => {
    const deep = `${Array.from({ length: 12 }, (_, i) => `dir-${i}-${'x'.repeat(30)}`).join('/')}/file.md`;
    expect(deep.length).toBeGreaterThan(255);
    const [entry] = unpackTar(packTar([{ path: deep, type: 'file', mode: 0o640, uid: 2 ** 31 - 1, gid: 3_000_000, data: bytes('deep') }]));
    expect(entry).toMatchObject({ path: deep, type: 'file', mode: 0o640, uid: 2 ** 31 - 1, gid: 3_000_000 });
    expect(new TextDecoder().decode(entry?.data)).toBe('deep');
  });

  it('skips links and other entry types (packTar never makes them)', () => {
    expect(unpackTar(rawArchive('evil-link', 'SymbolicLink'))).toEqual([]);
  });

  it('is deterministic: the same entries give the same bytes (mtime 0 unless given)', () => {
    const entries: TarEntry[] = [{ path: 'a', type: 'file', mode: 0o644, uid: 1, gid: 2, data: bytes('same') }];
    expect(packTar(entries)).toEqual(packTar(entries));
    expect(unpackTar(packTar([{ ...(entries[0] as TarEntry), mtime: 1_700_000_000 }]))[0]?.mtime).toBe(1_700_000_000);
  });
});
