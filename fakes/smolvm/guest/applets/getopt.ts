/**
 * Option parsing shared by every applet, as busybox's `getopt32` (libbb/getopt32.c) drives
 * Alpine's musl `getopt_long` (src/misc/getopt.c, getopt_long.c): options are permuted past
 * operands unless the spec starts with `+`; `--` ends them; clusters (`-rf`), attached values
 * (`-n5`, `--lines=5`) and unique prefixes of long options work; a bad option prints musl's
 * message (`ls: unrecognized option: z`) and then busybox's usage.
 */
import { UsageFailure, notModelled, type AppletProcess } from './applet.ts';

export interface OptionSpec {
  /** getopt32 letters; `:` after one that takes a value (`::`: only attached, `-i.bak`); a leading `+` stops at the first operand. */
  readonly short: string;
  /** Long name → the letter (or a long-only key) it sets; `:` after the key: takes a value, `::`: only as `=VALUE`. */
  readonly long?: Readonly<Record<string, string>>;
  /** Letters/keys busybox accepts that the fake refuses rather than half-honours. */
  readonly unmodelled?: string;
  /** Plain musl `getopt` (an applet not using getopt32): no long options, no permuting. */
  readonly plain?: boolean;
}

export interface Options {
  has(key: string): boolean;
  /** How many times it was given (`-vv`). */
  count(key: string): number;
  /** Its last value. */
  value(key: string): string | undefined;
  values(key: string): string[];
  readonly operands: string[];
}

/** musl's diagnostics go to stderr as `argv[0]: what: option`. */
function musl(p: AppletProcess, what: string, option: string): never {
  p.stderr.write(`${p.argv[0] ?? p.name}: ${what}: ${option}\n`);
  throw new UsageFailure();
}

export function getopt(p: AppletProcess, args: readonly string[], spec: OptionSpec): Options {
  const permute = !spec.short.startsWith('+') && !spec.plain;
  const letters = spec.short.replace(/^\+/, '');
  const takesValue = new Map<string, 'no' | 'yes' | 'attached'>();
  for (let i = 0; i < letters.length; i++) {
    const c = letters[i] as string;
    if (c === ':') continue;
    takesValue.set(c, letters[i + 1] !== ':' ? 'no' : letters[i + 2] === ':' ? 'attached' : 'yes');
  }
  const longs = Object.entries(spec.long ?? {}).map(([name, key]) => ({
    name,
    key: key.replace(/:+$/, ''),
    value: key.endsWith(':'),
    optional: key.endsWith('::'),
  }));

  const seen = new Map<string, string[]>();
  const record = (key: string, value: string): void => {
    if (spec.unmodelled?.includes(key) && key.length === 1) notModelled(p, `-${key}`);
    seen.set(key, [...(seen.get(key) ?? []), value]);
  };
  const operands: string[] = [];
  let i = 0;
  while (i < args.length) {
    const a = args[i] as string;
    if (a === '--') {
      operands.push(...args.slice(i + 1));
      break;
    }
    if (a.startsWith('--') && !spec.plain) {
      const body = a.slice(2);
      const eq = body.indexOf('=');
      const typed = eq === -1 ? body : body.slice(0, eq);
      const exact = longs.find((l) => l.name === typed);
      const prefixed = longs.filter((l) => l.name.startsWith(typed));
      const match = exact ?? (prefixed.length === 1 ? prefixed[0] : undefined);
      if (!match) musl(p, prefixed.length > 1 ? 'option is ambiguous' : 'unrecognized option', body);
      if (spec.unmodelled?.includes(match.key) && match.key.length > 1) notModelled(p, `--${match.name}`);
      if (eq !== -1) {
        if (!match.value) musl(p, 'option does not take an argument', match.name);
        record(match.key, body.slice(eq + 1));
      } else if (match.value && !match.optional) {
        const next = args[i + 1];
        if (next === undefined) musl(p, 'option requires an argument', match.name);
        record(match.key, next);
        i++;
      } else record(match.key, '');
      i++;
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const c = a[j] as string;
        if (!takesValue.has(c)) musl(p, 'unrecognized option', c);
        const kind = takesValue.get(c);
        if (kind === 'no') {
          record(c, '');
          continue;
        }
        const attached = a.slice(j + 1);
        if (attached || kind === 'attached') record(c, attached);
        else {
          const next = args[i + 1];
          if (next === undefined) musl(p, 'option requires an argument', c);
          record(c, next);
          i++;
        }
        break;
      }
      i++;
      continue;
    }
    if (!permute) {
      operands.push(...args.slice(i));
      break;
    }
    operands.push(a);
    i++;
  }
  return {
    has: (key) => seen.has(key),
    count: (key) => seen.get(key)?.length ?? 0,
    value: (key) => seen.get(key)?.at(-1),
    values: (key) => seen.get(key) ?? [],
    operands,
  };
}
