/**
 * Turns zod issues into `path: value problem` lines a user can act on. Values are shown
 * (truncated) so the bad one is obvious, except under secret roots such as `env`.
 */
import type { z } from 'zod';

export interface FieldIssue {
  /** e.g. `skills[1]`, `user.home`, `env.TOKEN`; `''` for the top level. */
  readonly path: string;
  readonly message: string;
}

export interface IssueContext {
  /** Top-level fields whose values are never printed. */
  readonly secretFields: ReadonlySet<string>;
  /** Known keys of the mapping at a (formatted) path, for unknown-key hints. */
  readonly knownKeys: (path: string) => readonly string[] | undefined;
}

/** Params a custom issue can carry. */
export interface IssueParams {
  /** The message stands alone: do not print the value before it. */
  readonly hideValue?: boolean;
}

const MAX_SHOWN_CHARS = 60;

export function describeIssues(issues: readonly z.core.$ZodIssue[], input: unknown, context: IssueContext): FieldIssue[] {
  return issues.flatMap((issue) => describeIssue(issue, input, context));
}

function describeIssue(issue: z.core.$ZodIssue, input: unknown, context: IssueContext): FieldIssue[] {
  const path = formatPath(issue.path);
  const value = valueAt(input, issue.path);
  const secret = typeof issue.path[0] === 'string' && context.secretFields.has(issue.path[0]);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = context.knownKeys(path) ?? [];
      return issue.keys.map((key) => {
        const hint = suggest(key, known);
        const allowed = known.length > 0 ? ` (known fields: ${known.join(', ')})` : '';
        return {
          path: formatPath([...issue.path, key]),
          message: `is not a known field${hint ? `; did you mean "${hint}"?` : ''}${allowed}`,
        };
      });
    }
    case 'invalid_type': {
      if (value === undefined) return [{ path, message: 'is required' }];
      const shown = secret || !isScalar(value) ? '' : ` ${showValue(value)}`;
      return [{ path, message: `expected ${expectedName(issue.expected)}, got ${kindOf(value)}${shown}` }];
    }
    case 'custom': {
      const params = issue.params as IssueParams | undefined;
      const hidden = secret || params?.hideValue === true;
      return [{ path, message: hidden ? issue.message : `${showValue(value)} ${issue.message}` }];
    }
    case 'too_big':
    case 'too_small':
      // A count or length: the value itself may be huge, and the message says what is wrong.
      return [{ path, message: issue.message }];
    default:
      return [{ path, message: secret ? issue.message : `${showValue(value)}: ${issue.message}` }];
  }
}

/** `skills[1]`, `user.home`, `env["MY-VAR"]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) out += out ? `.${key}` : key;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

/** A value as it would appear in the file, cut short when long. */
export function showValue(value: unknown): string {
  if (typeof value === 'string') {
    if (value.length <= MAX_SHOWN_CHARS) return JSON.stringify(value);
    return `${JSON.stringify(value.slice(0, MAX_SHOWN_CHARS - 20))}… (${value.length} chars)`;
  }
  if (isScalar(value)) return String(value);
  let json: string;
  try {
    json = JSON.stringify(value) ?? kindOf(value);
  } catch {
    return kindOf(value);
  }
  return json.length <= MAX_SHOWN_CHARS ? json : `${json.slice(0, MAX_SHOWN_CHARS - 20)}…`;
}

function isScalar(value: unknown): value is string | number | boolean | bigint | null {
  return value === null || ['string', 'number', 'boolean', 'bigint'].includes(typeof value);
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Uint8Array) return 'binary data';
  switch (typeof value) {
    case 'object':
      return 'a mapping';
    case 'string':
      return 'a string';
    case 'number':
    case 'bigint':
      return 'a number';
    case 'boolean':
      return 'a boolean';
    default:
      return typeof value;
  }
}

function expectedName(expected: string): string {
  const names: Record<string, string> = {
    string: 'a string',
    number: 'a number',
    int: 'an integer',
    boolean: 'a boolean',
    array: 'a list',
    object: 'a mapping',
    record: 'a mapping',
  };
  return names[expected] ?? expected;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let current = input;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

/** The closest known key within two edits, for typos like `promt`. */
function suggest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const d = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min((row[j - 1] ?? 0) + 1, (previous[j] ?? 0) + 1, (previous[j - 1] ?? 0) + cost));
    }
    previous = row;
  }
  return previous[b.length] ?? 0;
}
