/**
 * Reading a tar stream header by header, as busybox 1.36.1's
 * archival/libarchive/get_header_tar.c does: ustar and old-GNU magic, both checksums, octal
 * and base-256 numbers, GNU long names (L/K) and pax `path`/`linkpath` records, trailing-`/`
 * directories, and the unsafe-prefix strip (unsafe_prefix.c). The fake's own reader, so it
 * never agrees with claude-bottle's tar writer by construction.
 */

/** A fatal header problem: busybox prints `tar: MESSAGE` and exits 1. */
export class TarDie extends Error {}

export type MemberType = 'file' | 'hardlink' | 'symlink' | 'dir' | 'node';

export interface Member {
  /** As stored, with a directory's trailing `/` (busybox lists it that way). */
  readonly name: string;
  readonly type: MemberType;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly uname: string | undefined;
  readonly gname: string | undefined;
  readonly mtime: number;
  /** 0 for everything but regular files, as get_header_tar zeroes it. */
  readonly size: number;
  readonly linkTarget: string | undefined;
  readonly data: Uint8Array;
}

const BLOCK = 512;
const decoder = new TextDecoder();

/** A NUL-terminated field. */
function text(h: Uint8Array, offset: number, length: number): string {
  const field = h.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return decoder.decode(end < 0 ? field : field.subarray(0, end));
}

/** `getOctal`: strtoull base 8 ending at NUL or space, else GNU base-256 when the top bit is set. */
function octal(h: Uint8Array, offset: number, length: number): number {
  const field = h.subarray(offset, offset + length);
  let i = 0;
  while (field[i] === 0x20 || (field[i] !== undefined && (field[i] as number) >= 0x09 && (field[i] as number) <= 0x0d)) i++;
  const negative = field[i] === 0x2d;
  if (field[i] === 0x2b || negative) i++;
  let value = 0;
  for (; field[i] !== undefined && (field[i] as number) >= 0x30 && (field[i] as number) <= 0x37; i++) value = value * 8 + (field[i] as number) - 0x30;
  const end = field[i];
  if (end === undefined || end === 0 || end === 0x20) return negative ? -value : value;
  const first = field[0] ?? 0;
  if (!(first & 0x80)) throw new TarDie('corrupted octal value in tar header');
  // Base-256: bit 6 of the first byte is the sign, the rest big-endian.
  let v = BigInt(first & 0x40 ? (first | 0x80) - 0x100 : first & 0x3f);
  for (const b of field.subarray(1)) v = (v << 8n) + BigInt(b);
  return Number(v);
}

/** `strip_unsafe_prefix`: leading `/`s and everything up to the last `../`. */
function unsafePrefix(name: string): number {
  let cut = 0;
  for (;;) {
    if (name[cut] === '/') cut++;
    else if (name.startsWith('../', cut)) cut += 3;
    else {
      const next = name.indexOf('/../', cut);
      if (next < 0) return cut;
      cut = next + 4;
    }
  }
}

/** A pax header's `path`/`linkpath` records: "LEN NAME=VALUE\n" each. */
function paxRecords(body: Uint8Array, warn: (m: string) => void): Map<string, string> {
  const out = new Map<string, string>();
  let rest = decoder.decode(body);
  while (rest.length > 0) {
    const m = /^(\d+) /.exec(rest);
    const len = m ? Number(m[1]) : 0;
    if (!m || len === 0 || len > rest.length) {
      warn('malformed extended header, skipped');
      break;
    }
    const record = rest.slice(m[0].length, len - 1);
    const eq = record.indexOf('=');
    if (eq > 0) out.set(record.slice(0, eq), record.slice(eq + 1));
    rest = rest.slice(len);
  }
  return out;
}

/**
 * The members of `archive`, one at a time so a corrupt header stops extraction where busybox's
 * would. Returns with `sawHeader` false for a stream with no header at all (busybox exits 1).
 */
export function* members(archive: Uint8Array, warn: (m: string) => void): Generator<Member, { sawHeader: boolean }> {
  let offset = 0;
  let atEnd = false;
  let sawHeader = false;
  let longName: string | undefined;
  let longLink: string | undefined;
  let warnedPrefix = false;
  const take = (size: number): Uint8Array => {
    if (offset + size > archive.length) throw new TarDie('short read');
    const data = archive.subarray(offset, offset + size);
    offset += Math.ceil(size / BLOCK) * BLOCK;
    return data;
  };
  for (;;) {
    if (offset >= archive.length) {
      if (offset === 0) warn('short read');
      return { sawHeader };
    }
    if (archive.length - offset < BLOCK) throw new TarDie('short read');
    const h = archive.subarray(offset, offset + BLOCK);
    offset += BLOCK;
    if (h[0] === 0 && h[345] === 0 && longName === undefined) {
      if (atEnd) return { sawHeader };
      atEnd = true;
      sawHeader = true;
      continue;
    }
    atEnd = false;
    sawHeader = true;
    const magic = h.subarray(257, 262);
    if (decoder.decode(magic) !== 'ustar' && !magic.every((b) => b === 0)) throw new TarDie('invalid tar magic');
    let unsigned = 8 * 0x20;
    let signed = unsigned;
    h.forEach((b, i) => {
      if (i >= 148 && i < 156) return;
      unsigned += b;
      signed += b < 0x80 ? b : b - 0x100;
    });
    const sum = octal(h, 148, 8);
    if (sum !== unsigned && sum !== signed) throw new TarDie('invalid tar header checksum');

    let flag = String.fromCharCode(h[156] ?? 0);
    if (flag === '\0') flag = '0';
    const linkname = text(h, 157, 100);
    const size = octal(h, 124, 12);
    const prefix = text(h, 345, 155);
    const base = text(h, 0, 100);
    const stored = prefix ? `${prefix}${prefix.endsWith('/') ? '' : '/'}${base}` : base;
    let type: MemberType;
    switch (flag) {
      case '1':
        type = 'hardlink';
        break;
      case '0':
      case '7':
        type = stored.endsWith('/') && longName === undefined ? 'dir' : 'file';
        break;
      case '2':
        type = 'symlink';
        break;
      case '3':
      case '4':
      case '6':
        type = 'node';
        break;
      case '5':
        type = 'dir';
        break;
      case 'g':
      case 'x': {
        if (size > 0xfffff) {
          warn(`warning: skipping header '${flag}'`);
          take(size);
          continue;
        }
        const records = paxRecords(take(size), warn);
        if (flag === 'x') {
          longName = records.get('path') ?? longName;
          longLink = records.get('linkpath') ?? longLink;
        }
        continue;
      }
      case 'L':
      case 'K': {
        if (size > 0xfff) throw new TarDie('bad archive');
        const value = text(take(size), 0, size);
        if (flag === 'L') longName = value;
        else longLink = value;
        continue;
      }
      case 'V':
        warn(`warning: skipping header '${flag}'`);
        take(size);
        continue;
      default:
        throw new TarDie(`unknown typeflag: 0x${(h[156] ?? 0).toString(16)}`);
    }
    const full = longName ?? stored;
    const cut = unsafePrefix(full);
    if (cut > 0 && !warnedPrefix) {
      warnedPrefix = true;
      warn(`removing leading '${full.slice(0, cut)}' from member names`);
    }
    const name = full.slice(cut);
    const linkTarget = longLink ?? (linkname || undefined);
    longName = undefined;
    longLink = undefined;
    const dataSize = type === 'file' ? size : 0;
    yield {
      name,
      type,
      mode: octal(h, 100, 8) & 0o7777,
      uid: octal(h, 108, 8),
      gid: octal(h, 116, 8),
      uname: text(h, 265, 32) || undefined,
      gname: text(h, 297, 32) || undefined,
      mtime: octal(h, 136, 12),
      size: dataSize,
      linkTarget,
      data: take(dataSize),
    };
  }
}
