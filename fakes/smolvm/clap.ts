/**
 * Just enough of clap 4's parser to reject what smolvm's rejects, with clap's wording and exit 2:
 * long/short options, `--opt=value`, short clusters, repeated-option and conflict errors,
 * `trailing_var_arg` (exec) and `last = true` (create's workload after `--`).
 */
import { clapError } from './texts.ts';

export interface OptionSpec {
  readonly long: string;
  readonly short?: string;
  /** Value name as clap shows it (`NAME`); absent for boolean flags. */
  readonly value?: string;
  readonly multiple?: boolean;
  /** Validate/normalise a raw value; throw `InvalidValue` with clap's reason on failure. */
  readonly parse?: (raw: string) => string;
  readonly conflicts?: readonly string[];
  /** A real smolvm option the fake does not model: accepted by the parser, refused afterwards. */
  readonly unmodelled?: boolean;
}

export interface CommandSpec {
  /** Canonical path, e.g. `machine create`; aliases still print it. */
  readonly path: string;
  readonly usage: string;
  readonly options: readonly OptionSpec[];
  /** Positional value names in order (`SRC`, `DST`); all required. */
  readonly positionals?: readonly string[];
  /** `trailing`: first bare word starts the argv (exec). `last`: only after `--` (create). */
  readonly rest?: { readonly kind: 'trailing' | 'last'; readonly name: string; readonly required: boolean };
  readonly required?: readonly string[];
}

export interface ParsedArgs {
  readonly values: ReadonlyMap<string, readonly string[]>;
  readonly flags: ReadonlySet<string>;
  readonly positionals: readonly string[];
  readonly rest: readonly string[];
  one(long: string): string | undefined;
  all(long: string): readonly string[];
  has(long: string): boolean;
  /** Modelled nowhere in the fake, but given: the caller refuses these. */
  readonly unmodelled: readonly string[];
}

/** A clap usage error: full stderr text, exit 2. */
export class UsageError extends Error {
  readonly text: string;
  constructor(text: string) {
    super(text.split('\n')[0] ?? text);
    this.text = text;
  }
}

/** `-h`/`--help` anywhere an option may appear: clap prints help to stdout and exits 0. */
export class HelpRequested extends Error {
  readonly text: string;
  constructor(spec: CommandSpec) {
    const lines = spec.options.map((o) => `      ${o.short ? `-${o.short}, ` : '    '}${displayOption(o)}`);
    super('help');
    this.text = `Usage: ${spec.usage}\n\nOptions:\n${lines.join('\n')}\n  -h, --help\n`;
  }
}

/** Thrown by value parsers; becomes clap's `invalid value` error. */
export class InvalidValue extends Error {}

export function displayOption(o: OptionSpec): string {
  return o.value ? `--${o.long} <${o.value}>` : `--${o.long}`;
}

export function parseArgs(spec: CommandSpec, args: readonly string[]): ParsedArgs {
  const values = new Map<string, string[]>();
  const flags = new Set<string>();
  const positionals: string[] = [];
  let rest: string[] = [];
  const seen: string[] = [];
  const slots = spec.positionals ?? [];
  const usage = (message: string, tip?: string): UsageError => new UsageError(clapError(message, spec.usage, tip));
  const unexpected = (arg: string): UsageError =>
    usage(
      `unexpected argument '${arg}' found`,
      arg.startsWith('-') && (slots.length > 0 || spec.rest) ? `to pass '${arg}' as a value, use '-- ${arg}'` : undefined,
    );

  const record = (o: OptionSpec, raw: string | undefined): void => {
    if (!o.multiple && seen.includes(o.long)) {
      throw usage(`the argument '${displayOption(o)}' cannot be used multiple times`);
    }
    seen.push(o.long);
    if (!o.value) {
      flags.add(o.long);
      return;
    }
    if (raw === undefined) {
      throw new UsageError(clapError(`a value is required for '${displayOption(o)}' but none was supplied`));
    }
    let value = raw;
    if (o.parse) {
      try {
        value = o.parse(raw);
      } catch (error) {
        if (!(error instanceof InvalidValue)) throw error;
        throw new UsageError(clapError(`invalid value '${raw}' for '${displayOption(o)}': ${error.message}`));
      }
    }
    const list = values.get(o.long) ?? [];
    list.push(value);
    values.set(o.long, list);
  };
  // clap treats a following `-x` as the next flag, not as this option's value.
  const takeValue = (i: number): string | undefined => {
    const next = args[i];
    return next === undefined || (next.startsWith('-') && next !== '-') ? undefined : next;
  };

  let i = 0;
  let afterDashDash = false;
  while (i < args.length) {
    const arg = args[i] as string;
    if (afterDashDash || !arg.startsWith('-') || arg === '-') {
      if (spec.rest?.kind === 'trailing' && positionals.length >= slots.length) {
        rest = args.slice(i);
        break;
      }
      if (afterDashDash && spec.rest?.kind === 'last' && positionals.length >= slots.length) {
        rest = args.slice(i);
        break;
      }
      if (positionals.length < slots.length) positionals.push(arg);
      else throw unexpected(arg);
      i++;
      continue;
    }
    if (arg === '--help' || arg === '-h') throw new HelpRequested(spec);
    if (arg === '--') {
      afterDashDash = true;
      i++;
      continue;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      const inline = eq === -1 ? undefined : arg.slice(eq + 1);
      const o = spec.options.find((x) => x.long === name);
      if (!o) throw unexpected(eq === -1 ? arg : arg.slice(0, eq));
      if (!o.value && inline !== undefined) {
        throw usage(`unexpected value '${inline}' for '${displayOption(o)}' found; no more were expected`);
      }
      if (o.value && inline === undefined) {
        record(o, takeValue(i + 1));
        i += 2;
      } else {
        record(o, inline);
        i++;
      }
      continue;
    }
    // A short cluster: `-it`, `-nNAME`, `-n=NAME`, `-e KEY`.
    let consumedNext = false;
    for (let j = 1; j < arg.length; j++) {
      const c = arg[j] as string;
      const o = spec.options.find((x) => x.short === c);
      if (!o) throw unexpected(`-${c}`);
      if (!o.value) {
        record(o, undefined);
        continue;
      }
      const attached = arg.slice(j + 1).replace(/^=/, '');
      if (attached) record(o, attached);
      else {
        record(o, takeValue(i + 1));
        consumedNext = true;
      }
      break;
    }
    i += consumedNext ? 2 : 1;
  }

  for (const long of seen) {
    const o = spec.options.find((x) => x.long === long);
    for (const other of o?.conflicts ?? []) {
      const p = spec.options.find((x) => x.long === other);
      if (p && seen.includes(other)) {
        throw usage(`the argument '${displayOption(o as OptionSpec)}' cannot be used with '${displayOption(p)}'`);
      }
    }
  }

  const missing: string[] = [];
  for (const long of spec.required ?? []) {
    const o = spec.options.find((x) => x.long === long);
    if (o && !seen.includes(long)) missing.push(displayOption(o));
  }
  for (const name of slots.slice(positionals.length)) missing.push(`<${name}>`);
  if (spec.rest?.required && rest.length === 0) missing.push(`<${spec.rest.name}>...`);
  if (missing.length) {
    throw usage(`the following required arguments were not provided:\n${missing.map((m) => `  ${m}`).join('\n')}`);
  }

  const unmodelled = spec.options.filter((o) => o.unmodelled && seen.includes(o.long)).map((o) => `--${o.long}`);
  return {
    values,
    flags,
    positionals,
    rest,
    unmodelled,
    one: (long) => values.get(long)?.at(-1),
    all: (long) => values.get(long) ?? [],
    has: (long) => flags.has(long) || values.has(long),
  };
}

// Value parsers, each with the reason text clap prints after `invalid value '…' for '…': `.

/** Rust `str::parse::<uN>()` errors. */
export function unsigned(bits: 8 | 32 | 64): (raw: string) => string {
  const max = bits === 64 ? 2n ** 64n - 1n : BigInt(2 ** bits - 1);
  return (raw) => {
    if (raw === '') throw new InvalidValue('cannot parse integer from empty string');
    const digits = raw.startsWith('+') ? raw.slice(1) : raw;
    if (!/^\d+$/.test(digits)) throw new InvalidValue('invalid digit found in string');
    if (BigInt(digits) > max) throw new InvalidValue('number too large to fit in target type');
    return String(BigInt(digits));
  };
}

/** `NonZeroU32::from_str` (clap's `FromStr` fallback): `u32`'s errors, and zero refused. */
export function nonZeroU32(raw: string): string {
  const value = unsigned(32)(raw);
  if (value === '0') throw new InvalidValue('number would be zero for non-zero type');
  return value;
}

/** `cli::parsers::parse_image`. */
export function imageRef(raw: string): string {
  if (raw.trim() === '') throw new InvalidValue('image reference must not be empty');
  return raw;
}

/** `data::network::PortMapping::parse`; normalised to `HOST:GUEST`. */
export function portMapping(raw: string): string {
  const port = (text: string, what: string): number => {
    if (!/^\+?\d+$/.test(text) || Number(text) > 65535) throw new InvalidValue(`invalid ${what}: ${text}`);
    return Number(text);
  };
  const colon = raw.indexOf(':');
  if (colon === -1) {
    const p = port(raw, 'port');
    if (p === 0) throw new InvalidValue('port 0 is not valid for VM port forwarding');
    return `${p}:${p}`;
  }
  const host = port(raw.slice(0, colon), 'host port');
  if (host === 0) throw new InvalidValue('host port 0 is not valid for VM port forwarding');
  const guest = port(raw.slice(colon + 1), 'guest port');
  if (guest === 0) throw new InvalidValue('guest port 0 is not valid for VM port forwarding');
  return `${host}:${guest}`;
}

/** `smolfile::parse_cidr`: a CIDR, or a bare address widened to a host route. */
export function cidr(raw: string): string {
  const bad = (): InvalidValue => new InvalidValue(`invalid CIDR '${raw}': expected format like 10.0.0.0/8 or 1.1.1.1`);
  const [addr, prefix, extra] = raw.split('/');
  if (extra !== undefined || addr === undefined) throw bad();
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(addr);
  const isV4 = v4?.slice(1).every((o) => Number(o) <= 255) === true;
  const isV6 = !isV4 && addr.includes(':') && /^[0-9a-fA-F:.]+$/.test(addr);
  if (!isV4 && !isV6) throw bad();
  const maxPrefix = isV4 ? 32 : 128;
  if (prefix === undefined) return `${addr}/${maxPrefix}`;
  if (!/^\d+$/.test(prefix) || Number(prefix) > maxPrefix) throw bad();
  return `${addr}/${Number(prefix)}`;
}

export function oneOf(choices: readonly string[]): (raw: string) => string {
  return (raw) => {
    if (!choices.includes(raw)) throw new InvalidValue(`\n  [possible values: ${choices.join(', ')}]`);
    return raw;
  };
}

const UNITS: ReadonlyArray<[RegExp, number]> = [
  [/^(nsec|ns)$/, 1e-6],
  [/^(usec|us|µs)$/, 1e-3],
  [/^(msec|ms)$/, 1],
  [/^(seconds|second|secs|sec|s)$/, 1000],
  [/^(minutes|minute|mins|min|m)$/, 60_000],
  [/^(hours|hour|hrs|hr|h)$/, 3_600_000],
  [/^(days|day|d)$/, 86_400_000],
  [/^(weeks|week|w)$/, 604_800_000],
  [/^(months|month|M)$/, 2_630_016_000],
  [/^(years|year|y)$/, 31_557_600_000],
];

/** `cli::parsers::parse_duration` = humantime plus a zero check. Returns milliseconds as text. */
export function duration(raw: string): string {
  const text = raw.trim();
  if (text === '') throw new InvalidValue('value was empty');
  let ms = 0;
  let pos = 0;
  const re = /\s*(\d+)\s*([a-zA-Zµ]*)/y;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) throw new InvalidValue(`expected number at ${pos}`);
    const num = m[1] as string;
    const unit = m[2] as string;
    if (unit === '') throw new InvalidValue('time unit needed, for example 30sec or 30s');
    const factor = UNITS.find(([u]) => u.test(unit))?.[1];
    if (factor === undefined) {
      throw new InvalidValue(
        `unknown time unit ${JSON.stringify(unit)}, supported units: ns, us, ms, sec, min, hours, days, weeks, months, years (and few variations)`,
      );
    }
    ms += Number(num) * factor;
    pos = re.lastIndex;
  }
  if (ms === 0) throw new InvalidValue('timeout must be greater than 0 (e.g., 5sec, 30s)');
  return String(ms);
}
