/** Backslash escapes (libbb/process_escape_sequence.c) for `echo -e`, printf formats and `%b`. */

/** Output built from text (UTF-8) and raw bytes (an `\377` escape is one byte, not a character). */
export class Bytes {
  readonly chunks: Uint8Array[] = [];
  text(t: string): void {
    if (t) this.chunks.push(new TextEncoder().encode(t));
  }
  byte(b: number): void {
    this.chunks.push(Uint8Array.of(b & 0xff));
  }
  concat(): Uint8Array {
    const out = new Uint8Array(this.chunks.reduce((n, c) => n + c.length, 0));
    let offset = 0;
    for (const c of this.chunks) {
      out.set(c, offset);
      offset += c.length;
    }
    return out;
  }
}

const SIMPLE: Readonly<Record<string, string>> = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v', '\\': '\\', '"': '"', e: '\x1b' };

/** Appends `text` with its escapes decoded; returns true at `\c` (stop all output). */
export function unescapeInto(out: Bytes, text: string, octalNeedsZero: boolean): boolean {
  let pending = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c !== '\\' || i === text.length - 1) {
      pending += c;
      continue;
    }
    const n = text[i + 1] as string;
    if (n in SIMPLE) {
      pending += SIMPLE[n];
      i++;
    } else if (n === 'c') {
      out.text(pending);
      return true;
    } else if (n === 'x' && /[0-9a-fA-F]/.test(text[i + 2] ?? '')) {
      const digits = /^[0-9a-fA-F]{1,2}/.exec(text.slice(i + 2))?.[0] ?? '';
      out.text(pending);
      pending = '';
      out.byte(Number.parseInt(digits, 16));
      i += 1 + digits.length;
    } else if (/[0-7]/.test(n) && (n === '0' || !octalNeedsZero)) {
      const digits = /^[0-7]{1,3}/.exec(text.slice(n === '0' && octalNeedsZero ? i + 2 : i + 1))?.[0] ?? '';
      out.text(pending);
      pending = '';
      out.byte(Number.parseInt(digits || '0', 8));
      i += (n === '0' && octalNeedsZero ? 1 : 0) + digits.length;
    } else pending += c;
  }
  out.text(pending);
  return false;
}
