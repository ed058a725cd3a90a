/**
 * Name and path rules shared by the agent spec, the state dir and the plan. Each check returns
 * why a value is bad (a phrase), or undefined when it is fine, so callers word the error.
 */
import { posix } from 'node:path';
import { MAX_PATH_BYTES } from './limits.ts';

/** Leaves room for `<slug>-<8 hex>` machine names well inside smolvm's 128 and docker's limits. */
export const MAX_AGENT_NAME_LENGTH = 48;
export const MAX_SKILL_NAME_LENGTH = 64;

export const AGENT_NAME_RULE = `lowercase a-z, 0-9 and single '-' between them, 1-${MAX_AGENT_NAME_LENGTH} chars, e.g. "code-reviewer"`;
export const SKILL_NAME_RULE = `lowercase a-z, 0-9 and '-', 1-${MAX_SKILL_NAME_LENGTH} chars`;
export const ENV_NAME_RULE = "letters, digits and '_', not starting with a digit";
export const USER_NAME_RULE = "letters, digits, '.', '_' and '-', not starting with '-' or '.', 1-32 chars";

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const USER_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,31}$/;

export function agentNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name.length > MAX_AGENT_NAME_LENGTH) return `is ${name.length} chars long`;
  if (/[A-Z]/.test(name)) return 'has uppercase letters';
  if (/[^a-z0-9-]/.test(name)) return `has characters other than a-z, 0-9 and '-'`;
  if (name.startsWith('-')) return `starts with '-'`;
  if (name.endsWith('-')) return `ends with '-'`;
  if (name.includes('--')) return `has '--'`;
  return undefined;
}

export function skillNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (/[/\\]/.test(name)) return 'has a path separator';
  if (name.length > MAX_SKILL_NAME_LENGTH) return `is ${name.length} chars long`;
  if (/[A-Z]/.test(name)) return 'has uppercase letters';
  if (/[^a-z0-9-]/.test(name)) return `has characters other than a-z, 0-9 and '-'`;
  return undefined;
}

export function isEnvName(name: string): boolean {
  return ENV_NAME.test(name);
}

export function isUserName(name: string): boolean {
  return USER_NAME.test(name);
}

/** An absolute path inside the guest: POSIX, no `..` segment, no `:` (it separates engine volume specs). */
export function guestPathProblem(path: string): string | undefined {
  if (!path.startsWith('/')) return 'is not absolute';
  if (path.split('/').includes('..')) return `has a '..' segment`;
  if (path.includes(':')) return `has a ':'`;
  if (/[\u0000-\u001f\u007f]/.test(path)) return 'has control characters';
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) return `is longer than ${MAX_PATH_BYTES} bytes`;
  return undefined;
}

/** A `/`-separated path relative to a skill dir, as recorded in the plan. */
export function relativePathProblem(path: string): string | undefined {
  if (path.length === 0) return 'is empty';
  if (path.startsWith('/')) return 'is absolute';
  const segments = path.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) return `has an empty, '.' or '..' segment`;
  if (path.includes('\u0000')) return 'has a NUL byte';
  return undefined;
}

/** One rule for bottle (machine) names on every backend, and for the registry that records them. */
export const MAX_BOTTLE_NAME_LENGTH = 63;
export const BOTTLE_NAME_RULE = `letters, digits, '_' and single '-' between them, starting with a letter or digit, 2-${MAX_BOTTLE_NAME_LENGTH} chars`;

/**
 * Why `name` cannot name a bottle, or undefined. The intersection of smolvm's rule
 * (`[A-Za-z0-9_-]`, no `--`, no trailing `-`), docker's and podman's (which also allow `.`, and
 * want two characters at least) and the registry's file names.
 */
export function bottleNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  // docker's rule is `[a-zA-Z0-9][a-zA-Z0-9_.-]+`: one character is not a container name there.
  if (name.length === 1) return 'is 1 char long';
  if (name.length > MAX_BOTTLE_NAME_LENGTH) return `is ${name.length} chars long`;
  if (!/^[A-Za-z0-9]/.test(name)) return 'does not start with a letter or digit';
  if (/[^A-Za-z0-9_-]/.test(name)) return `has characters other than letters, digits, '_' and '-'`;
  if (name.includes('--')) return `has '--'`;
  if (name.endsWith('-')) return `ends with '-'`;
  return undefined;
}

/**
 * Guest dirs no setting may point into (nor `/` itself): provisioning creates, owns and sets the
 * modes of dirs it is given, and an agent user owning `/etc` edits `/etc/passwd` and is root.
 */
export const PROTECTED_GUEST_DIRS: readonly string[] = Object.freeze([
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/proc',
  '/run',
  '/sbin',
  '/sys',
  '/usr',
  '/var',
]);

/** Why a guest dir setting may not be `path` (`/`, or a protected system dir or one under it), or undefined. */
export function protectedGuestDirProblem(path: string): string | undefined {
  const normal = posix.normalize(path).replace(/(.)\/+$/, '$1');
  if (normal === '/') return "is the guest's root directory";
  const top = PROTECTED_GUEST_DIRS.find((dir) => normal === dir || normal.startsWith(`${dir}/`));
  return top === undefined ? undefined : `is ${normal === top ? '' : 'under '}${top}, a system directory (${PROTECTED_GUEST_DIRS.join(' ')} and / are refused)`;
}
