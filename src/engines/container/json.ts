/**
 * Strict readers for the JSON a container CLI prints (`container inspect`, `network inspect`,
 * `info`). Hand-written rather than a schema library so that `exec` loads none: these few shapes
 * are all the adapters read. A value that is not what a reader expects is an EngineOutputError
 * naming the command, where in the JSON, what was expected and what came; keys a reader does
 * not name are ignored (the CLIs print many more).
 */
import { ClaudeBottleError } from '../../errors.ts';

/** A CLI printed output of a shape we do not read: an engine version this code does not know, or not that CLI at all. */
export class EngineOutputError extends ClaudeBottleError {
  override name = 'EngineOutputError';
}

/** Reads `value` found at `path` (e.g. `[0].State.Status`) as a T, or throws. */
type Reader<T> = (value: unknown, path: string) => T;

/** The shape's type: each key's reader's result (a reader that accepts absence gives `T | undefined`). */
type Shape = Readonly<Record<string, Reader<unknown>>>;
type ShapeOf<S extends Shape> = { [K in keyof S]: ReturnType<S[K]> };

class Mismatch extends Error {
  readonly path: string;
  constructor(path: string, expected: string, value: unknown) {
    super(`${path || '(top)'}: expected ${expected}, got ${describe(value)}`);
    this.path = path;
  }
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  const text = JSON.stringify(value);
  return `${typeof value} ${text.length > 40 ? `${text.slice(0, 40)}…` : text}`;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

export const string: Reader<string> = (value, path) => {
  if (typeof value !== 'string') throw new Mismatch(path, 'a string', value);
  return value;
};

/** Absent (undefined) is allowed; null is not. */
export const optional =
  <T>(read: Reader<T>): Reader<T | undefined> =>
  (value, path) =>
    value === undefined ? undefined : read(value, path);

/** Absent or null, both read as undefined. */
export const nullish =
  <T>(read: Reader<T>): Reader<T | undefined> =>
  (value, path) =>
    value === undefined || value === null ? undefined : read(value, path);

/** Any value at all: for a field read only for its keys or presence. */
export const unknown: Reader<unknown> = (value) => value;

export const array =
  <T>(item: Reader<T>): Reader<T[]> =>
  (value, path) => {
    if (!Array.isArray(value)) throw new Mismatch(path, 'an array', value);
    return value.map((element, i) => item(element, `${path}[${i}]`));
  };

/** An object used as a map, every value read by `value`. */
export const record =
  <T>(read: Reader<T>): Reader<Record<string, T>> =>
  (value, path) => {
    if (!isObject(value)) throw new Mismatch(path, 'an object', value);
    const out: Record<string, T> = {};
    for (const [key, element] of Object.entries(value)) out[key] = read(element, `${path}[${JSON.stringify(key)}]`);
    return out;
  };

/** An object with (at least) the shape's keys; only those are read. */
export const object =
  <S extends Shape>(shape: S): Reader<ShapeOf<S>> =>
  (value, path) => {
    if (!isObject(value)) throw new Mismatch(path, 'an object', value);
    const out: Record<string, unknown> = {};
    for (const [key, read] of Object.entries(shape)) out[key] = read(value[key], `${path}.${key}`);
    return out as ShapeOf<S>;
  };

/** Parses `text` (what `command` printed) and reads it with `read`; anything else is an EngineOutputError. */
export function readJson<T>(text: string, read: Reader<T>, command: string): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new EngineOutputError(`\`${command}\` printed something that is not JSON: ${JSON.stringify(text.slice(0, 80))}`, { cause });
  }
  try {
    return read(value, '');
  } catch (error) {
    if (!(error instanceof Mismatch)) throw error;
    throw new EngineOutputError(`\`${command}\` printed JSON of an unexpected shape: ${error.message}`);
  }
}
