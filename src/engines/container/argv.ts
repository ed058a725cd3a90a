/**
 * The one argv builder for container CLIs (docker, podman): the same verbs and flags, with the
 * binary and its quirks from a `ContainerCliArgs`. Env values never appear here: `-e KEY` makes
 * the CLI read the value from its own environment (or `--env-file`, see ./env.ts).
 */
import { ConfigError } from '../../errors.ts';
import { BOTTLE_LABEL } from '../../engine/types.ts';
import { checkEnvKey, checkGuestPath } from '../../engine/validate.ts';

export { checkEnvKey, checkGuestPath };

/** The keep-alive exits on TERM at once, so `stop` never waits out its timeout. */
export const KEEP_ALIVE = ['-c', 'trap "exit 0" TERM INT; sleep infinity & wait'] as const;

/** `all` turns IPv6 off on every interface the namespace has; `default`, on any it gets later. */
const NO_IPV6 = ['net.ipv6.conf.all.disable_ipv6', 'net.ipv6.conf.default.disable_ipv6'] as const;

/** Seconds `stop` waits before SIGKILL; the keep-alive needs none of them. */
export const STOP_TIMEOUT_S = 3;

/** What differs in argv between container CLIs. */
export interface ContainerCliArgs {
  /** argv[0]; the transport maps it to a binary (`$DOCKER_BIN`, `$PODMAN_BIN`). */
  readonly program: string;
  /** Flags `cp -` needs to keep each tar entry's mode and owner (podman chowns to the container's user without `--archive=false`). */
  readonly copyInFlags: readonly string[];
  /** `network create` flags besides `--internal` and the labels. */
  readonly networkCreateFlags: readonly string[];
}

export interface GuestIds {
  readonly uid: number;
  readonly gid: number;
}

export interface CreateArgs {
  readonly name: string;
  readonly image: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** `none`: no network at all; `default`: the CLI's default bridge; `{ name }`: that network (e.g. `host`, or one you created). */
  readonly network: 'none' | 'default' | { readonly name: string };
  /**
   * IPv6 off in the container's own network namespace (`--sysctl`), whatever the engine's
   * default: the host firewall has IPv4 rules only. Not for `host` (the engines refuse it there).
   */
  readonly noIpv6?: boolean;
  readonly user?: GuestIds;
  /** Names only; the values travel in the CLI's environment. */
  readonly envKeys?: readonly string[];
  /** A host file of `KEY=value` lines, for names the CLI itself reads (./env.ts). */
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

export type ContainerArgv = ReturnType<typeof containerArgv>;

export function containerArgv(cli: ContainerCliArgs) {
  const p = cli.program;
  return {
    /** `--pull never`: an image that is not already local is an error, never a download. */
    create(a: CreateArgs): string[] {
      const argv = [p, 'create', '--pull', 'never', '--name', checkContainerName(a.name), '--label', `${BOTTLE_LABEL}=1`];
      for (const [key, value] of Object.entries(a.labels ?? {})) {
        if (key === BOTTLE_LABEL) continue;
        argv.push('--label', `${checkLabelKey(key)}=${value}`);
      }
      if (a.network === 'none') argv.push('--network', 'none');
      else if (a.network !== 'default') argv.push('--network', checkNetworkName(a.network.name));
      if (a.noIpv6) for (const key of NO_IPV6) argv.push('--sysctl', `${key}=1`);
      if (a.user) argv.push('--user', ids(a.user));
      argv.push(...envOptions(a.envKeys, a.envFile));
      if (a.workdir !== undefined) argv.push('-w', checkGuestPath(a.workdir, 'workdir'));
      if (a.cpus !== undefined) argv.push('--cpus', String(positive(a.cpus, 'cpus')));
      if (a.memMib !== undefined) argv.push('--memory', `${intIn(a.memMib, 6, 2 ** 32 - 1, 'memMib')}m`);
      // The image's own entrypoint (a CLI, a server) must not replace the keep-alive.
      argv.push('--entrypoint', 'sh', checkImage(a.image), ...KEEP_ALIVE);
      return argv;
    },

    start: (name: string): string[] => [p, 'start', checkContainerName(name)],
    stop: (name: string, timeoutS: number = STOP_TIMEOUT_S): string[] => [
      p,
      'stop',
      '-t',
      String(intIn(timeoutS, 0, 3600, 'stop timeout')),
      checkContainerName(name),
    ],
    remove: (name: string): string[] => [p, 'rm', '-f', checkContainerName(name)],

    exec(name: string, guestArgv: readonly string[], a: ExecArgs = {}): string[] {
      if (guestArgv.length === 0) throw new ConfigError('exec needs a guest command', [{ path: 'argv', message: 'empty' }]);
      const argv = [p, 'exec'];
      if (a.stdin) argv.push('-i');
      if (a.tty) argv.push('-t');
      argv.push(...envOptions(a.envKeys, a.envFile));
      if (a.workdir !== undefined) argv.push('-w', checkGuestPath(a.workdir, 'workdir'));
      if (a.user) argv.push('--user', ids(a.user));
      // The CLI stops parsing its own options at the container name: the rest is the guest's.
      argv.push(checkContainerName(name), ...guestArgv);
      return argv;
    },

    /** A tar archive on stdin, extracted at the container's root; works on stopped containers too. */
    copyIn: (name: string): string[] => [p, 'cp', ...cli.copyInFlags, '-', `${checkContainerName(name)}:/`],

    /** `container inspect`, so an image of the same name is never matched. */
    inspect: (names: readonly string[]): string[] => [p, 'container', 'inspect', ...names.map(checkContainerName)],

    /** Ids of claude-bottle containers carrying all these labels (label filters are ANDed). */
    listIds(labels: Readonly<Record<string, string>> = {}): string[] {
      const argv = [p, 'ps', '-a', '-q', '--no-trunc', '--filter', `label=${BOTTLE_LABEL}=1`];
      for (const [key, value] of Object.entries(labels)) {
        if (key === BOTTLE_LABEL && value === '1') continue;
        argv.push('--filter', `label=${checkLabelKey(key)}=${value}`);
      }
      return argv;
    },
    /** Ids of containers attached to a network. */
    listOnNetwork: (network: string): string[] => [p, 'ps', '-a', '-q', '--no-trunc', '--filter', `network=${checkNetworkName(network)}`],

    /**
     * A per-bottle network that reaches only the host (`--internal`): the bundle listens on its
     * gateway. Marked as a bottle's whatever the caller's labels, as containers are: `prune` finds it.
     */
    networkCreate: (name: string, labels: Readonly<Record<string, string>>, ipam?: { readonly subnet: string; readonly gateway: string }): string[] => [
      p,
      'network',
      'create',
      '--internal',
      ...cli.networkCreateFlags,
      ...(ipam ? ['--subnet', checkAddress(ipam.subnet, 'subnet'), '--gateway', checkAddress(ipam.gateway, 'gateway')] : []),
      '--label',
      `${BOTTLE_LABEL}=1`,
      ...Object.entries(labels).flatMap(([k, v]) => (k === BOTTLE_LABEL ? [] : ['--label', `${checkLabelKey(k)}=${v}`])),
      checkNetworkName(name),
    ],
    /** A JSON array of the networks found (both CLIs print the found ones even when another is missing). */
    networkInspect: (names: readonly string[]): string[] => [p, 'network', 'inspect', ...names.map(checkNetworkName)],
    /** Ids (docker) or names (podman) of networks carrying all these labels: either is what inspect and rm take. */
    networkList: (labels: Readonly<Record<string, string>>): string[] => [
      p,
      'network',
      'ls',
      '-q',
      '--no-trunc',
      ...Object.entries(labels).flatMap(([k, v]) => ['--filter', `label=${checkLabelKey(k)}=${v}`]),
    ],
    networkRemove: (name: string): string[] => [p, 'network', 'rm', checkNetworkName(name)],
  };
}

function envOptions(keys: readonly string[] = [], envFile?: string): string[] {
  const argv: string[] = [];
  if (envFile !== undefined) argv.push('--env-file', nonEmpty(envFile, 'env file'));
  for (const key of keys) argv.push('-e', checkEnvKey(key));
  return argv;
}

const NAME_RULE = 'must start with a letter or digit and contain only letters, digits, "_", "." and "-"';

/** docker's (and podman's) rule for container names; it also keeps a name from reading as a flag. */
export function checkContainerName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
    throw new ConfigError(`invalid container name ${JSON.stringify(name)}: ${NAME_RULE}`, [{ path: 'name', message: NAME_RULE }]);
  }
  return name;
}

/** A network name or id; never a flag. */
export function checkNetworkName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
    throw new ConfigError(`invalid network ${JSON.stringify(name)}: ${NAME_RULE}`, [{ path: 'network', message: NAME_RULE }]);
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

function checkAddress(value: string, field: string): string {
  if (!/^[0-9a-fA-F.:]+(\/\d{1,3})?$/.test(value))
    throw new ConfigError(`invalid ${field} ${JSON.stringify(value)}`, [{ path: field, message: 'not an address' }]);
  return value;
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

export function intIn(n: number, min: number, max: number, field: string): number {
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${field} must be an integer in ${min}..${max}, got ${n}`, [{ path: field, message: 'out of range' }]);
  }
  return n;
}
