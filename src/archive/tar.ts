/**
 * Tar archives: skills travel as one archive (one upload, one exec), and docker uploads use one to
 * set mode and owner explicitly. (The fake smolvm's `tar` reads them with its own reader, after
 * busybox's, so the two can disagree the way real tools would.)
 *
 * The codec is `tar` (node-tar, the one npm itself uses): maintained, written in TypeScript with
 * its types, ESM. `modern-tar` and `tar-stream` were the candidates named first, but both offer
 * only asynchronous (stream or Promise) APIs, and `packTar`/`unpackTar` are synchronous and are
 * called synchronously outside this module (docker's one-file upload, the test image's stage tar). node-tar's `Header` and `Pax` encode and its `Parser` decodes
 * synchronously; it writes POSIX ustar, with a pax extended header only where ustar cannot hold
 * a value (a path over 255 bytes, an id over 2097151), which docker cp and busybox tar read.
 * What stays ours: only files and directories, exact modes and owners, and the path rules.
 */
import { Header, Parser, Pax } from 'tar';

export interface TarEntry {
  /** Relative path, `/`-separated, no leading `/`, no `..`, no NUL. */
  readonly path: string;
  readonly type: 'file' | 'directory';
  /** Written as given (`& 0o7777`): callers decide which bits travel (see PLANNED_MODE_MASK). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly data?: Uint8Array;
  /** Seconds since the epoch; default 0, so the same entries always give the same bytes. */
  readonly mtime?: number;
}

const BLOCK = 512;

export function packTar(entries: readonly TarEntry[]): Uint8Array {
  const chunks: Uint8Array[] = [];
  for (const entry of entries) {
    checkPath(entry.path);
    const data = entry.type === 'file' ? (entry.data ?? new Uint8Array()) : new Uint8Array();
    const fields = {
      path: entry.type === 'directory' && !entry.path.endsWith('/') ? `${entry.path}/` : entry.path,
      type: entry.type === 'directory' ? ('Directory' as const) : ('File' as const),
      mode: entry.mode & 0o7777,
      uid: entry.uid,
      gid: entry.gid,
      size: data.length,
      mtime: new Date(Math.floor(entry.mtime ?? 0) * 1000),
    };
    const header = Buffer.alloc(BLOCK);
    // true when a value does not fit ustar: a pax header carrying it goes first.
    if (new Header(fields).encode(header, 0)) chunks.push(new Pax(fields).encode());
    chunks.push(header);
    if (data.length > 0) {
      chunks.push(data);
      const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
      if (pad) chunks.push(new Uint8Array(pad));
    }
  }
  chunks.push(new Uint8Array(BLOCK * 2));
  return concat(chunks);
}

/**
 * The files and directories of an archive; other entry types (links, devices) are skipped, as
 * `packTar` never makes them. A bad checksum, a truncated archive or an unsafe path throws.
 */
export function unpackTar(archive: Uint8Array): TarEntry[] {
  const entries: TarEntry[] = [];
  let failure: Error | undefined;
  const parser = new Parser({
    strict: true,
    onReadEntry: (entry) => {
      const type = entry.type === 'Directory' ? 'directory' : entry.type === 'File' || entry.type === 'OldFile' ? 'file' : undefined;
      const chunks: Uint8Array[] = [];
      entry.on('data', (chunk: Buffer) => chunks.push(chunk));
      entry.on('end', () => {
        if (!type || failure) return;
        const path = entry.path.replace(/\/+$/, '');
        try {
          checkPath(path);
        } catch (error) {
          failure = error as Error;
          return;
        }
        entries.push({
          path,
          type,
          mode: entry.mode ?? 0,
          uid: entry.uid ?? 0,
          gid: entry.gid ?? 0,
          mtime: Math.floor((entry.mtime?.getTime() ?? 0) / 1000),
          ...(type === 'file' ? { data: concat(chunks) } : {}),
        });
      });
    },
  });
  // Strict: every warning (a bad checksum, a truncated entry) is an error, emitted synchronously.
  parser.on('error', (error: Error) => {
    failure ??= new Error(`tar: ${error.message}`);
  });
  parser.end(Buffer.from(archive.buffer, archive.byteOffset, archive.byteLength));
  if (failure) throw failure;
  return entries;
}

function checkPath(path: string): void {
  if (path === '' || path.startsWith('/') || path.includes('\u0000') || path.split('/').some((s) => s === '..')) {
    throw new Error(`tar: unsafe entry path: ${JSON.stringify(path)}`);
  }
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
