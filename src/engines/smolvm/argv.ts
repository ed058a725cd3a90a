/**
 * The one module that builds smolvm argv. Shapes follow smolvm 1.9.x (shared/docs/smolvm-cli.md):
 * the machine name is always the long `--name` flag, every option precedes `--`, and env values
 * never appear here: `-e KEY` makes smolvm read the value from its own environment.
 */
import { ConfigError } from '../../errors.ts';
import { checkEnvKey, checkGuestPath, checkHostPath, checkImageRef, checkMachineName } from './validate.ts';

export const SMOLVM = 'smolvm';

export interface CreateArgs {
  readonly name: string;
  readonly image?: string;
  readonly net?: boolean;
  readonly allowHosts?: readonly string[];
  readonly allowCidrs?: readonly string[];
  /** `--allow-host-loopback` (smolvm >= 1.10): the guest may reach the host's 127.0.0.1. */
  readonly allowHostLoopback?: boolean;
  /** `--outbound-localhost-only`: egress limited to loopback (implies virtio-net). */
  readonly outboundLocalhostOnly?: boolean;
  /** Names only; the values travel in the transport's env. */
  readonly envKeys?: readonly string[];
  readonly workdir?: string;
  readonly volumes?: readonly { readonly host: string; readonly guest: string; readonly readOnly?: boolean }[];
  readonly ports?: readonly { readonly host: number; readonly guest: number }[];
  readonly cpus?: number;
  readonly memMib?: number;
  readonly labels?: Readonly<Record<string, string>>;
  readonly workload?: readonly string[];
}

export interface UploadArgs {
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
}

export interface ExecArgs {
  readonly envKeys?: readonly string[];
  readonly workdir?: string;
  readonly timeoutMs?: number;
  /** `-i`: without it the guest's stdin is /dev/null. */
  readonly interactive?: boolean;
  /** `-t`: a PTY; merges stdout and stderr. Only for an attached terminal. */
  readonly tty?: boolean;
  /** `--user uid:gid` (smolvm >= 1.14); older versions run as the image's USER. */
  readonly user?: { readonly uid: number; readonly gid: number };
}

export const smolvmArgv = {
  version: (): string[] => [SMOLVM, '--version'],

  create(a: CreateArgs): string[] {
    const argv = [SMOLVM, 'machine', 'create', '--name', checkMachineName(a.name)];
    if (a.image !== undefined) argv.push('--image', checkImageRef(a.image));
    if (a.net) argv.push('--net');
    for (const h of a.allowHosts ?? []) argv.push('--allow-host', nonEmpty(h, 'allow-host'));
    for (const c of a.allowCidrs ?? []) argv.push('--allow-cidr', nonEmpty(c, 'allow-cidr'));
    if (a.allowHostLoopback) argv.push('--allow-host-loopback');
    if (a.outboundLocalhostOnly) argv.push('--outbound-localhost-only');
    for (const k of a.envKeys ?? []) argv.push('--env', checkEnvKey(k));
    if (a.workdir !== undefined) argv.push('--workdir', checkGuestPath(a.workdir, 'workdir'));
    for (const v of a.volumes ?? []) {
      argv.push('--volume', `${checkHostPath(v.host, 'volume host path')}:${checkGuestPath(v.guest, 'volume guest path')}${v.readOnly ? ':ro' : ''}`);
    }
    for (const p of a.ports ?? []) argv.push('--port', `${port(p.host)}:${port(p.guest)}`);
    if (a.cpus !== undefined) argv.push('--cpus', String(intIn(a.cpus, 1, 255, 'cpus')));
    if (a.memMib !== undefined) argv.push('--mem', String(intIn(a.memMib, 64, 2 ** 32 - 1, 'mem')));
    for (const [k, v] of Object.entries(a.labels ?? {})) argv.push('--label', `${nonEmpty(k, 'label key')}=${v}`);
    if (a.workload?.length) argv.push('--', ...a.workload);
    return argv;
  },

  start: (name: string): string[] => [SMOLVM, 'machine', 'start', '--name', checkMachineName(name)],
  stop: (name: string): string[] => [SMOLVM, 'machine', 'stop', '--name', checkMachineName(name)],
  // Without -f smolvm prompts on stdin and, on EOF, prints "Cancelled" and exits 0 having deleted nothing.
  delete: (name: string): string[] => [SMOLVM, 'machine', 'delete', '--name', checkMachineName(name), '-f'],
  status: (name: string): string[] => [SMOLVM, 'machine', 'status', '--name', checkMachineName(name), '--json'],
  ls: (): string[] => [SMOLVM, 'machine', 'ls', '--json'],

  upload(hostPath: string, name: string, guestPath: string, a: UploadArgs = {}): string[] {
    const argv = [SMOLVM, 'machine', 'cp', checkHostPath(hostPath), `${checkMachineName(name)}:${checkGuestPath(guestPath)}`];
    if (a.mode !== undefined) argv.push('--mode', intIn(a.mode, 0, 0o7777, 'mode').toString(8).padStart(3, '0'));
    if (a.uid !== undefined) argv.push('--uid', String(intIn(a.uid, 0, 2 ** 32 - 1, 'uid')));
    if (a.gid !== undefined) argv.push('--gid', String(intIn(a.gid, 0, 2 ** 32 - 1, 'gid')));
    return argv;
  },

  download: (name: string, guestPath: string, hostPath: string): string[] => [
    SMOLVM,
    'machine',
    'cp',
    `${checkMachineName(name)}:${checkGuestPath(guestPath)}`,
    checkHostPath(hostPath),
  ],

  exec(name: string, guestArgv: readonly string[], a: ExecArgs = {}): string[] {
    if (guestArgv.length === 0) throw new ConfigError('exec needs a guest command', [{ path: 'argv', message: 'empty' }]);
    // `--name` is long-only on exec; everything after the first non-flag is the guest's.
    const argv = [SMOLVM, 'machine', 'exec', '--name', checkMachineName(name)];
    for (const k of a.envKeys ?? []) argv.push('--env', checkEnvKey(k));
    if (a.workdir !== undefined) argv.push('--workdir', checkGuestPath(a.workdir, 'workdir'));
    if (a.timeoutMs !== undefined) argv.push('--timeout', humantime(a.timeoutMs));
    if (a.interactive) argv.push('--interactive');
    if (a.tty) argv.push('--tty');
    if (a.user) argv.push('--user', `${intIn(a.user.uid, 0, 2 ** 32 - 1, 'uid')}:${intIn(a.user.gid, 0, 2 ** 32 - 1, 'gid')}`);
    argv.push('--', ...guestArgv);
    return argv;
  },
};

/** smolvm parses durations with humantime; 0 is rejected. */
export function humantime(ms: number): string {
  const whole = Math.ceil(intIn(Math.ceil(ms), 1, Number.MAX_SAFE_INTEGER, 'timeout'));
  return whole % 1000 === 0 ? `${whole / 1000}s` : `${whole}ms`;
}

function nonEmpty(value: string, field: string): string {
  if (value.length === 0) throw new ConfigError(`${field} must not be empty`, [{ path: field, message: 'empty' }]);
  return value;
}

function port(n: number): number {
  return intIn(n, 1, 65535, 'port');
}

function intIn(n: number, min: number, max: number, field: string): number {
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${field} must be an integer in ${min}..${max}, got ${n}`, [{ path: field, message: 'out of range' }]);
  }
  return n;
}
