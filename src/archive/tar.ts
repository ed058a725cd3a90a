/**
 * A small ustar writer and reader. Skills travel as one archive (one upload, one exec), and
 * docker uploads use it to set mode and owner explicitly; the fake's `tar -x` reads it back.
 */

export interface TarEntry {
  /** Relative path, `/`-separated, no leading `/`, no `..`. */
  readonly path: string;
  readonly type: 'file' | 'directory';
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly data?: Uint8Array;
  readonly mtime?: number;
}

const BLOCK = 512;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function packTar(entries: readonly TarEntry[]): Uint8Array {
  const chunks: Uint8Array[] = [];
  for (const entry of entries) {
    const data = entry.type === 'file' ? (entry.data ?? new Uint8Array()) : new Uint8Array();
    chunks.push(header(entry, data.length));
    if (data.length > 0) {
      chunks.push(data);
      const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
      if (pad) chunks.push(new Uint8Array(pad));
    }
  }
  chunks.push(new Uint8Array(BLOCK * 2));
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

function header(entry: TarEntry, size: number): Uint8Array {
  checkPath(entry.path);
  const h = new Uint8Array(BLOCK);
  let name = entry.path + (entry.type === 'directory' && !entry.path.endsWith('/') ? '/' : '');
  let prefix = '';
  if (encoder.encode(name).length > 100) {
    // ustar splits long paths at a `/` into prefix (155) and name (100).
    const cut = name.lastIndexOf('/', name.length - 2);
    prefix = name.slice(0, cut);
    name = name.slice(cut + 1);
    if (cut < 0 || encoder.encode(name).length > 100 || encoder.encode(prefix).length > 155) {
      throw new RangeError(`tar: path too long for ustar: ${entry.path}`);
    }
  }
  writeString(h, 0, 100, name);
  writeOctal(h, 100, 8, entry.mode & 0o7777);
  writeOctal(h, 108, 8, entry.uid);
  writeOctal(h, 116, 8, entry.gid);
  writeOctal(h, 124, 12, size);
  writeOctal(h, 136, 12, Math.floor(entry.mtime ?? 0));
  h.fill(0x20, 148, 156); // checksum field counts as spaces while summing
  h[156] = entry.type === 'directory' ? 0x35 : 0x30;
  writeString(h, 257, 6, 'ustar');
  writeString(h, 263, 2, '00');
  writeString(h, 345, 155, prefix);
  let sum = 0;
  for (const byte of h) sum += byte;
  writeOctal(h, 148, 7, sum);
  h[155] = 0x20;
  return h;
}

export function unpackTar(archive: Uint8Array): TarEntry[] {
  const entries: TarEntry[] = [];
  let offset = 0;
  while (offset + BLOCK <= archive.length) {
    const h = archive.subarray(offset, offset + BLOCK);
    if (h.every((b) => b === 0)) break;
    const stored = readOctal(h, 148, 8);
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (h[i] ?? 0);
    if (sum !== stored) throw new Error(`tar: bad header checksum at offset ${offset}`);
    const name = readString(h, 0, 100);
    const prefix = readString(h, 345, 155);
    const full = (prefix ? `${prefix}/${name}` : name).replace(/\/+$/, '');
    const size = readOctal(h, 124, 12);
    const typeflag = h[156];
    offset += BLOCK;
    const data = archive.slice(offset, offset + size);
    if (data.length < size) throw new Error(`tar: truncated archive at ${full}`);
    offset += Math.ceil(size / BLOCK) * BLOCK;
    const type = typeflag === 0x35 ? 'directory' : typeflag === 0x30 || typeflag === 0 ? 'file' : undefined;
    if (!type) continue; // links and extended headers are not produced by packTar
    checkPath(full);
    entries.push({
      path: full,
      type,
      mode: readOctal(h, 100, 8),
      uid: readOctal(h, 108, 8),
      gid: readOctal(h, 116, 8),
      mtime: readOctal(h, 136, 12),
      ...(type === 'file' ? { data } : {}),
    });
  }
  return entries;
}

function checkPath(path: string): void {
  if (path === '' || path.startsWith('/') || path.split('/').some((s) => s === '..')) {
    throw new Error(`tar: unsafe entry path: ${JSON.stringify(path)}`);
  }
}

function writeString(buf: Uint8Array, offset: number, length: number, value: string): void {
  const bytes = encoder.encode(value);
  if (bytes.length > length) throw new RangeError(`tar: field too long: ${value}`);
  buf.set(bytes, offset);
}

function writeOctal(buf: Uint8Array, offset: number, length: number, value: number): void {
  const text = value.toString(8).padStart(length - 1, '0');
  if (text.length > length - 1) throw new RangeError(`tar: number too large: ${value}`);
  writeString(buf, offset, length - 1, text);
}

function readString(buf: Uint8Array, offset: number, length: number): string {
  const field = buf.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return decoder.decode(end === -1 ? field : field.subarray(0, end));
}

function readOctal(buf: Uint8Array, offset: number, length: number): number {
  const text = readString(buf, offset, length).trim();
  return text ? Number.parseInt(text, 8) : 0;
}
