/**
 * The one module that builds docker argv. Env values never appear here: `-e KEY` makes the
 * docker CLI read the value from its own environment (or `--env-file`, see ./env.ts).
 */
import { ConfigError } from '../../errors.ts';
import { BOTTLE_LABEL } from '../../engine/types.ts';
import { checkEnvKey, checkGuestPath } from '../../engine/validate.ts';

export { checkEnvKey, checkGuestPath };

export const DOCKER = 'docker';

/** Every container claude-bottle creates carries this label; `list` only ever sees those. */
export { BOTTLE_LABEL };

/** The keep-alive exits on TERM at once, so `docker stop` never waits out its timeout. */
export const KEEP_ALIVE = ['-c', 'trap "exit 0" TERM INT; sleep infinity & wait'] as const;

/** Seconds `docker stop` waits before SIGKILL; the keep-alive needs none of them. */
export const STOP_TIMEOUT_S = 3;

export interface GuestIds {
  readonly uid: number;
  readonly gid: number;
}

export interface CreateArgs {
  readonly name: string;
  readonly image: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** `none`: no network at all; `default`: docker's default bridge; `{ name }`: that docker network (e.g. `host`, or one you created). */
  readonly network: 'none' | 'default' | { readonly name: string };
  readonly user?: GuestIds;
  /** Names only; the values travel in the docker CLI's environment. */
  readonly envKeys?: readonly string[];
  /** A host file of `KEY=value` lines, for names the docker CLI itself reads (./env.ts). */
  readonly envFile?: string;
  readonly workdir?: string;
  readonly cpus?: number;
  readonly memMib?: number;
}

export interface ExecArgs {
  readonly envKeys?: readonly string[];
  readonly envFile?: string;
  readonly workdir?: string;
  readonly user?: GuestIds;
  /** `-i`: without it the guest's stdin is closed. */
  readonly stdin?: boolean;
  /** `-t`: a PTY, only for an attached terminal. */
  readonly tty?: boolean;
}

export const dockerArgv = {
  info: (): string[] => [DOCKER, 'info', '--format', '{{json .ServerVersion}}'],
  version: (): string[] => [DOCKER, 'version', '--format', '{{json .}}'],

  /** `--pull never`: an image that is not already local is an error, never a download. */
  create(a: CreateArgs): string[] {
    const argv = [DOCKER, 'create', '--pull', 'never', '--name', checkContainerName(a.name), '--label', `${BOTTLE_LABEL}=1`];
    for (const [key, value] of Object.entries(a.labels ?? {})) {
      if (key === BOTTLE_LABEL) continue;
      argv.push('--label', `${checkLabelKey(key)}=${value}`);
    }
    if (a.network === 'none') argv.push('--network', 'none');
    else if (a.network !== 'default') argv.push('--network', checkNetworkName(a.network.name));
    if (a.user) argv.push('--user', ids(a.user));
    argv.push(...envOptions(a.envKeys, a.envFile));
    if (a.workdir !== undefined) argv.push('-w', checkGuestPath(a.workdir, 'workdir'));
    if (a.cpus !== undefined) argv.push('--cpus', String(positive(a.cpus, 'cpus')));
    if (a.memMib !== undefined) argv.push('--memory', `${intIn(a.memMib, 6, 2 ** 32 - 1, 'memMib')}m`);
    // The image's own entrypoint (a CLI, a server) must not replace the keep-alive.
    argv.push('--entrypoint', 'sh', checkImage(a.image), ...KEEP_ALIVE);
    return argv;
  },

  start: (name: string): string[] => [DOCKER, 'start', checkContainerName(name)],
  stop: (name: string, timeoutS: number = STOP_TIMEOUT_S): string[] => [
    DOCKER,
    'stop',
    '-t',
    String(intIn(timeoutS, 0, 3600, 'stop timeout')),
    checkContainerName(name),
  ],
  remove: (name: string): string[] => [DOCKER, 'rm', '-f', checkContainerName(name)],

  exec(name: string, guestArgv: readonly string[], a: ExecArgs = {}): string[] {
    if (guestArgv.length === 0) throw new ConfigError('exec needs a guest command', [{ path: 'argv', message: 'empty' }]);
    const argv = [DOCKER, 'exec'];
    if (a.stdin) argv.push('-i');
    if (a.tty) argv.push('-t');
    argv.push(...envOptions(a.envKeys, a.envFile));
    if (a.workdir !== undefined) argv.push('-w', checkGuestPath(a.workdir, 'workdir'));
    if (a.user) argv.push('--user', ids(a.user));
    // docker stops parsing its own options at the container name: the rest is the guest's.
    argv.push(checkContainerName(name), ...guestArgv);
    return argv;
  },

  /** A tar archive on stdin, extracted at the container's root; works on stopped containers too. */
  copyIn: (name: string): string[] => [DOCKER, 'cp', '-', `${checkContainerName(name)}:/`],

  /** `container inspect`, so an image of the same name is never matched. */
  inspect: (names: readonly string[]): string[] => [DOCKER, 'container', 'inspect', ...names.map(checkContainerName)],

  /** Ids of claude-bottle containers carrying all these labels (docker ANDs label filters). */
  listIds(labels: Readonly<Record<string, string>> = {}): string[] {
    const argv = [DOCKER, 'ps', '-a', '-q', '--no-trunc', '--filter', `label=${BOTTLE_LABEL}=1`];
    for (const [key, value] of Object.entries(labels)) {
      if (key === BOTTLE_LABEL && value === '1') continue;
      argv.push('--filter', `label=${checkLabelKey(key)}=${value}`);
    }
    return argv;
  },

  imageInspect: (image: string, format?: string): string[] => [
    DOCKER,
    'image',
    'inspect',
    ...(format !== undefined ? ['--format', format] : []),
    checkImage(image),
  ],
};

function envOptions(keys: readonly string[] = [], envFile?: string): string[] {
  const argv: string[] = [];
  if (envFile !== undefined) argv.push('--env-file', nonEmpty(envFile, 'env file'));
  for (const key of keys) argv.push('-e', checkEnvKey(key));
  return argv;
}

/** docker's own rule for container names; it also keeps a name from reading as a flag. */
export function checkContainerName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
    const message = 'must start with a letter or digit and contain only letters, digits, "_", "." and "-"';
    throw new ConfigError(`invalid container name ${JSON.stringify(name)}: ${message}`, [{ path: 'name', message }]);
  }
  return name;
}

/** A per-bottle network that reaches only the host (`--internal`): the bundle listens on its gateway. */
export const dockerNetworkArgv = {
  create: (name: string, labels: Readonly<Record<string, string>>): string[] => [
    DOCKER,
    'network',
    'create',
    '--internal',
    ...Object.entries(labels).flatMap(([k, v]) => ['--label', `${checkLabelKey(k)}=${v}`]),
    checkNetworkName(name),
  ],
  /** One JSON object per line: id, name, labels, gateway and attached containers. */
  inspect: (names: readonly string[]): string[] => [DOCKER, 'network', 'inspect', '--format', '{{json .}}', ...names.map(checkNetworkName)],
  /** Ids of networks carrying all these labels. */
  listIds: (labels: Readonly<Record<string, string>>): string[] => [
    DOCKER,
    'network',
    'ls',
    '-q',
    '--no-trunc',
    ...Object.entries(labels).flatMap(([k, v]) => ['--filter', `label=${checkLabelKey(k)}=${v}`]),
  ],
  remove: (name: string): string[] => [DOCKER, 'network', 'rm', checkNetworkName(name)],
};

/** A docker network name or id; never a flag. */
export function checkNetworkName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
    const message = 'must start with a letter or digit and contain only letters, digits, "_", "." and "-"';
    throw new ConfigError(`invalid docker network ${JSON.stringify(name)}: ${message}`, [{ path: 'network', message }]);
  }
  return name;
}

export function checkImage(image: string): string {
  if (image === '' || image.startsWith('-') || /\s/.test(image)) {
    throw new ConfigError(`invalid image reference ${JSON.stringify(image)}`, [{ path: 'image', message: 'invalid reference' }]);
  }
  return image;
}

function checkLabelKey(key: string): string {
  if (key === '' || key.includes('=')) {
    throw new ConfigError(`invalid label key ${JSON.stringify(key)}`, [{ path: 'labels', message: 'empty or contains "="' }]);
  }
  return key;
}

function ids(user: GuestIds): string {
  return `${intIn(user.uid, 0, 2 ** 32 - 1, 'uid')}:${intIn(user.gid, 0, 2 ** 32 - 1, 'gid')}`;
}

function nonEmpty(value: string, field: string): string {
  if (value.length === 0) throw new ConfigError(`${field} must not be empty`, [{ path: field, message: 'empty' }]);
  return value;
}

function positive(n: number, field: string): number {
  if (!Number.isFinite(n) || n <= 0) throw new ConfigError(`${field} must be a positive number, got ${n}`, [{ path: field, message: 'not positive' }]);
  return n;
}

function intIn(n: number, min: number, max: number, field: string): number {
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${field} must be an integer in ${min}..${max}, got ${n}`, [{ path: field, message: 'out of range' }]);
  }
  return n;
}
