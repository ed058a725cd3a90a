/**
 * `sed [-i[SFX]] [-nrE] [-f FILE]... [-e CMD]... [FILE]...`: addresses (N, $, /RE/, \cREc,
 * A,B, A,+N, !), blocks, and the commands s y d D p P n N g G h H x = a i c q Q b t T
 * : r w. Input files form one stream unless -i edits each in place.
 */
import { die, UsageFailure, type Applet, type AppletProcess } from './applet.ts';
import { abs, errno, Inputs, readInput, writeFile } from './files.ts';
import { getopt } from './getopt.ts';
import { RegexError } from './regex.ts';
import { parseScript, SedError, type Address, type Command } from './sed-script.ts';

export const sed: Applet = {
  source: 'editors/sed.c',
  usage: '[-i[SFX]] [-nrE] [-f FILE]... [-e CMD]... [FILE]...\nor: sed [-i[SFX]] [-nrE] CMD [FILE]...',
  summary: '',
  main(p) {
    const o = getopt(p, p.argv.slice(1), {
      short: 'i::rEne:f:',
      long: { 'in-place': 'i::', 'regexp-extended': 'r', quiet: 'n', silent: 'n', expression: 'e:', file: 'f:' },
    });
    const operands = [...o.operands];
    const pieces = [...o.values('e')];
    for (const file of o.values('f')) {
      try {
        pieces.push(new TextDecoder().decode(readInput(p, file)).replace(/\n$/, ''));
      } catch (error) {
        die(p, `can't open '${file}': ${errno(error)}`);
      }
    }
    if (!o.has('e') && !o.has('f')) {
      const script = operands.shift();
      if (script === undefined) throw new UsageFailure();
      pieces.push(script);
    }
    let commands: Command[];
    try {
      commands = parseScript(pieces.join('\n'), o.has('r') || o.has('E'));
    } catch (error) {
      if (error instanceof SedError) die(p, error.message);
      if (error instanceof RegexError) die(p, `bad regex: ${error.message}`);
      throw error;
    }
    const run = new Run(p, commands, o.has('n'));
    if (o.has('i')) {
      if (operands.length === 0) die(p, '-i requires an argument');
      const files = new Inputs(p, operands);
      for (const [file, data] of files) {
        const out: string[] = [];
        run.stream([split(data)], out);
        const suffix = o.value('i');
        const mode = Number(p.fs.vol.statSync(abs(p, file)).mode) & 0o7777;
        if (suffix) p.fs.vol.renameSync(abs(p, file), abs(p, `${file}${suffix}`));
        writeFile(p, file, out.join(''));
        p.fs.vol.chmodSync(abs(p, file), mode);
        if (run.quit !== undefined) break;
      }
      return run.quit ?? (files.failed ? 1 : 0);
    }
    const inputs = new Inputs(p, operands.length ? operands : ['-']);
    const streams = [...inputs].map(([, data]) => split(data));
    const out: string[] = [];
    run.stream(streams, out);
    p.stdout.write(out.join(''));
    return run.quit ?? (inputs.failed ? 1 : 0);
  },
};

/** Lines with their newline kept, so an unterminated last line stays unterminated. */
function split(data: Uint8Array): string[] {
  return new TextDecoder()
    .decode(data)
    .split(/(?<=\n)/)
    .filter((l) => l !== '');
}

class Run {
  quit: number | undefined;
  #lastRegex: RegExp | undefined;

  readonly p: AppletProcess;
  readonly commands: Command[];
  readonly quiet: boolean;

  constructor(p: AppletProcess, commands: Command[], quiet: boolean) {
    this.p = p;
    this.commands = commands;
    this.quiet = quiet;
  }

  #regex(address: { re: RegExp | null }): RegExp {
    const re = address.re ?? this.#lastRegex;
    if (!re) throw new SedError('no previous regexp');
    this.#lastRegex = re;
    return re;
  }

  #matches(a: Address, line: number, last: boolean, text: string): boolean {
    if (a.kind === 'line') return line === a.n;
    if (a.kind === 'last') return last;
    if (a.kind === 're') return this.#regex(a).test(text);
    return false;
  }

  #selected(c: Command, line: number, last: boolean, text: string): boolean {
    let on: boolean;
    if (!c.a1) on = true;
    else if (!c.a2) on = this.#matches(c.a1, line, last, text);
    else if (c.active) {
      const a2 = c.a2;
      on = true;
      if (a2.kind === 'rel') c.active = line < (c.end ?? 0);
      else if (a2.kind === 'line') c.active = line < a2.n;
      else c.active = !this.#matches(a2, line, last, text);
    } else if (this.#matches(c.a1, line, last, text)) {
      on = true;
      const a2 = c.a2;
      if (a2.kind === 'rel') {
        c.end = line + a2.n;
        c.active = a2.n > 0;
      } else if (a2.kind === 'line') c.active = a2.n > line;
      else c.active = !last;
    } else on = false;
    return on !== c.negate;
  }

  stream(inputs: string[][], out: string[]): void {
    const lines = inputs.flat();
    let index = 0;
    let hold = '';
    const read = (): { text: string; nl: boolean } | undefined => {
      const raw = lines[index++];
      if (raw === undefined) return undefined;
      return raw.endsWith('\n') ? { text: raw.slice(0, -1), nl: true } : { text: raw, nl: false };
    };
    let current = read();
    while (current) {
      let space = current.text;
      let nl = current.nl;
      const appended: string[] = [];
      let autoprint = !this.quiet;
      let substituted = false;
      let restart = false;
      const emit = (text: string, newline = true): void => {
        out.push(newline ? `${text}\n` : text);
      };
      let pc = 0;
      let deleted = false;
      cycle: while (pc < this.commands.length) {
        const c = this.commands[pc] as Command;
        pc++;
        if (!this.#selected(c, index, index === lines.length, space)) {
          if (c.name === '{') pc = c.jump ?? pc;
          continue;
        }
        switch (c.name) {
          case '{':
          case '}':
          case ':':
            break;
          case '=':
            emit(String(index));
            break;
          case 'a':
            appended.push(`${c.text}\n`);
            break;
          case 'i':
            emit(c.text ?? '');
            break;
          case 'c':
            if (!c.a2 || !c.active) emit(c.text ?? '');
            deleted = true;
            break cycle;
          case 'd':
            deleted = true;
            break cycle;
          case 'D': {
            const nlAt = space.indexOf('\n');
            if (nlAt === -1) {
              deleted = true;
              break cycle;
            }
            space = space.slice(nlAt + 1);
            restart = true;
            deleted = true;
            break cycle;
          }
          case 'p':
            emit(space);
            break;
          case 'P':
            emit(space.split('\n', 1)[0] ?? '');
            break;
          case 'n': {
            if (autoprint) emit(space, nl);
            const next = read();
            if (!next) {
              autoprint = false;
              break cycle;
            }
            space = next.text;
            nl = next.nl;
            break;
          }
          case 'N': {
            const next = read();
            if (!next) break cycle; // GNU: print the pattern space at end of input
            space = `${space}\n${next.text}`;
            nl = next.nl;
            break;
          }
          case 'g':
            space = hold;
            break;
          case 'G':
            space = `${space}\n${hold}`;
            break;
          case 'h':
            hold = space;
            break;
          case 'H':
            hold = `${hold}\n${space}`;
            break;
          case 'x':
            [space, hold] = [hold, space];
            break;
          case 'q':
          case 'Q':
            if (c.name === 'Q') autoprint = false;
            this.quit = c.code ?? 0;
            break cycle;
          case 'b':
          case 't':
          case 'T': {
            const jump = c.name === 'b' || (c.name === 't') === substituted;
            if (c.name !== 'b') substituted = false;
            if (jump) pc = c.jump ?? this.commands.length;
            break;
          }
          case 'r':
            try {
              appended.push(new TextDecoder().decode(readInput(this.p, c.file ?? '')));
            } catch {
              // A missing file is silently ignored, as sed does.
            }
            break;
          case 'w':
            writeFile(this.p, c.file ?? '', `${space}\n`, true);
            break;
          case 'y':
            space = [...space].map((ch) => c.map?.get(ch) ?? ch).join('');
            break;
          case 's': {
            const replaced = this.#substitute(c, space);
            if (replaced !== undefined) {
              space = replaced;
              substituted = true;
              if (c.print) emit(space);
              if (c.file) writeFile(this.p, c.file, `${space}\n`, true);
            }
            break;
          }
        }
      }
      if (!deleted && autoprint) emit(space, nl || index < lines.length);
      out.push(...appended);
      // D starts the next cycle on what is left, without reading a line.
      current = this.quit !== undefined ? undefined : restart ? { text: space, nl } : read();
    }
  }

  /** `do_subst_command`: replace the chosen match(es); an empty match right after a match is skipped. */
  #substitute(c: Command, text: string): string | undefined {
    const re = new RegExp(this.#regex({ re: c.re ?? null }), `g${c.ignoreCase ? 'i' : ''}`);
    let out = '';
    let pos = 0;
    let count = 0;
    let altered = false;
    let prevEmpty = true;
    while (pos <= text.length) {
      re.lastIndex = pos;
      const m = re.exec(text);
      if (!m) break;
      const [start, end] = [m.index, m.index + m[0].length];
      count++;
      if (c.which && c.which !== count) {
        out += text.slice(pos, end === start && end < text.length ? end + 1 : end);
        pos = end === start ? end + 1 : end;
        continue;
      }
      out += text.slice(pos, start);
      if (prevEmpty || start !== pos || start !== end) {
        out += expandReplacement(c.replacement ?? '', m);
        altered = true;
      }
      prevEmpty = start === end;
      if (prevEmpty && end < text.length) out += text[end];
      pos = prevEmpty ? end + 1 : end;
      if (c.which) break;
    }
    if (!altered) return undefined;
    return out + text.slice(pos);
  }
}

/** `&` is the match, `\N` a group, `\n` a newline, `\x` a literal x. */
function expandReplacement(replacement: string, m: RegExpExecArray): string {
  return replacement.replace(/\\(\d)|\\n|\\(.)|&/gs, (token, digit?: string, other?: string) => {
    if (token === '&') return m[0];
    if (digit !== undefined) return m[Number(digit)] ?? '';
    if (token === '\\n') return '\n';
    return other ?? '';
  });
}
