/**
 * `xargs [-0rt] [-n N] [-s N] [-I STR] [-E STR] [-a FILE] [PROG ARGS]`: words from stdin (quotes
 * and backslashes as xargs reads them) appended to PROG (default `echo`). Exit 123 when a run
 * exits 1–125, 124 on 255 (which stops), 126/127 when PROG cannot run.
 */
import { StdinRef } from '../process.ts';
import { complain, die, type Applet, type AppletProcess } from './applet.ts';
import { errno, readInput } from './files.ts';
import { getopt } from './getopt.ts';

export const xargs: Applet = {
  source: 'findutils/xargs.c',
  usage: '[OPTIONS] [PROG ARGS]',
  summary: 'Run PROG on every item given by stdin',
  async main(p) {
    const o = getopt(p, p.argv.slice(1), {
      short: '+trn:s:e::E:opx0I:i::P:a:',
      long: { 'no-run-if-empty': 'r' },
      unmodelled: 'opP',
    });
    const command = o.operands.length ? o.operands : ['echo'];
    let input: Uint8Array;
    const file = o.value('a');
    try {
      input = file === undefined ? p.stdin : readInput(p, file);
    } catch (error) {
      die(p, `can't open '${file}': ${errno(error)}`);
    }
    const text = new TextDecoder().decode(input);
    const replace = o.value('I') ?? (o.has('i') ? o.value('i') || '{}' : undefined);
    const eof = o.value('E') ?? o.value('e');
    let items: string[];
    if (replace !== undefined)
      items = text
        .split(o.has('0') ? '\0' : '\n')
        .map((l) => l.replace(/^[ \t]+/, ''))
        .filter((l) => l !== '');
    else if (o.has('0')) items = text.split('\0').filter((w) => w !== '');
    else items = words(p, text);
    if (eof) {
      const stop = items.indexOf(eof);
      if (stop !== -1) items = items.slice(0, stop);
    }
    const max = o.has('n') ? Number(o.value('n')) : Number.POSITIVE_INFINITY;
    if (!(max >= 1)) die(p, `invalid number '${o.value('n')}'`);
    const batches: string[][] = [];
    if (replace !== undefined) for (const item of items) batches.push(command.map((a) => a.replaceAll(replace, item)));
    else {
      const size = Number.isFinite(max) ? max : Math.max(items.length, 1);
      for (let i = 0; i < items.length; i += size) batches.push([...command, ...items.slice(i, i + size)]);
    }
    if (batches.length === 0 && !o.has('r')) batches.push([...command]);
    let exit = 0;
    for (const argv of batches) {
      if (o.has('t')) p.stderr.write(`${argv.join(' ')}\n`);
      const code = await p.spawn({ argv, env: p.env, cwd: p.cwd, stdin: new StdinRef(new Uint8Array()), stdout: p.stdout, stderr: p.stderr });
      if (code === null) {
        complain(p, `${argv[0]}: No such file or directory`);
        return 127;
      }
      if (code === 255) {
        complain(p, `${argv[0]}: exited with status 255; aborting`);
        return 124;
      }
      if (code > 128) {
        complain(p, `'${argv[0]}' terminated by signal ${code - 128}`);
        return 125;
      }
      if (code !== 0) exit = 123;
    }
    return exit;
  },
};

/** `process_stdin`: blank-separated words; '…', "…" and `\x` quote. */
function words(p: AppletProcess, text: string): string[] {
  const out: string[] = [];
  let word = '';
  let inWord = false;
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quote) {
      if (c === quote) quote = '';
      else word += c;
      continue;
    }
    if (/\s/.test(c)) {
      if (inWord) out.push(word);
      word = '';
      inWord = false;
    } else if (c === '\\') {
      word += text[++i] ?? '';
      inWord = true;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) die(p, `unmatched ${quote === "'" ? 'single' : 'double'} quote`);
  if (inWord) out.push(word);
  return out;
}
