import { ConfigError } from '../errors.ts';

/**
 * Checks shared by every engine's argv builder, run before anything is spawned. Guest paths:
 * absolute, no `.`/`..` segments (smolvm refuses traversal), no NUL or line breaks (docker's
 * upload probe passes paths as lines).
 */
export function checkGuestPath(path: string, field = 'guest path'): string {
  const problem = !path.startsWith('/')
    ? 'must be absolute'
    : path.split('/').some((s) => s === '..' || s === '.')
      ? 'must not contain "." or ".." segments'
      : /[\0\n\r]/.test(path)
        ? 'must not contain NUL or line breaks'
        : undefined;
  if (problem) throw new ConfigError(`invalid ${field} ${JSON.stringify(path)}: ${problem}`, [{ path: field, message: problem }]);
  return path;
}

/** Engines get `-e KEY` with the value in their environment: a key with `=` would leak a value into argv. */
export function checkEnvKey(key: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
    throw new ConfigError(`invalid environment variable name ${JSON.stringify(key)}`, [{ path: 'env', message: 'invalid name' }]);
  }
  return key;
}

/** Why an image reference cannot go into an engine's argv: empty, read as a flag (or `-`, stdin), or split by spaces. */
export function imageRefProblem(image: string): string | undefined {
  if (image === '') return 'is empty';
  if (image.startsWith('-')) return 'starts with "-" (an engine would read it as a flag, or "-" as stdin)';
  if (/\s/.test(image)) return 'contains whitespace';
  return undefined;
}

export function checkImageRef(image: string): string {
  const problem = imageRefProblem(image);
  if (problem) throw new ConfigError(`invalid image reference ${JSON.stringify(image)}: it ${problem}`, [{ path: 'image', message: problem }]);
  return image;
}
