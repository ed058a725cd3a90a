/**
 * What forking does inside a guest's filesystem, from the scripts smolvm 1.9.2 runs there. The
 * fake applies their effects directly: they read `/proc/sys/kernel/random/uuid` and call
 * `ssh-keygen`, which the fake's guest does not have.
 */
import { randomUUID } from 'node:crypto';
import { posix } from 'node:path';
import { ROOT, type GuestFs } from './guest-fs.ts';

// crates/smolvm-protocol/src/forkpoint.rs
export const STATE_DIR = '/run/smolvm/forkpoint';
export const READY_PATH = `${STATE_DIR}/ready`;
export const RESTORED_PATH = `${STATE_DIR}/restored`;
export const RELEASE_PATH = `${STATE_DIR}/release`;
export const WORKER_READY_PATH = `${STATE_DIR}/worker-ready`;
export const ACTIVATION_PATH = `${STATE_DIR}/activation`;
export const FORK_ENV_PATH = '/etc/smolvm/fork-env';
const AGENT_BINARY = '/usr/local/bin/smolvm-agent';
const HELPERS = ['/usr/local/bin/smolvm-fork-ready', '/usr/local/bin/smolvm-worker-ready'];

/** The shell loop `wait_for_forkpoint` runs in the golden (src/agent/fork.rs). */
export const WAIT_SCRIPT = `while [ ! -f '${READY_PATH}' ]; do sleep 0.05; done; cat '${READY_PATH}'`;

// The helpers are links to the agent binary, which the fake's rootfs does not carry: running one
// says so instead of pretending to park at a forkpoint.
const AGENT_STUB = '#!/bin/sh\necho "${0##*/}: not modelled by the fake smolvm" >&2\nexit 1\n';

/**
 * crates/smolvm-agent/src/forkpoint.rs `setup`, run when the guest boots with SMOLVM_FORKABLE=1:
 * a world-writable state directory with no markers, and the helper links.
 */
export function setUpForkpoint(fs: GuestFs): void {
  fs.mkdirs(STATE_DIR);
  fs.as(ROOT, () => {
    fs.vol.chmodSync(STATE_DIR, 0o1777);
    for (const marker of [READY_PATH, RESTORED_PATH, RELEASE_PATH, WORKER_READY_PATH]) fs.vol.rmSync(marker, { force: true });
    if (!fs.vol.existsSync(AGENT_BINARY)) fs.put(AGENT_BINARY, AGENT_STUB, 0o755);
    for (const helper of HELPERS) if (!fs.vol.existsSync(helper)) fs.vol.symlinkSync(AGENT_BINARY, helper);
  });
}

/** Host keys the identity reset would rotate with `ssh-keygen -A`, which the fake cannot run. */
export function sshHostKeys(fs: GuestFs): string[] {
  return fs.as(ROOT, () => {
    if (!fs.vol.existsSync('/etc/ssh')) return [];
    return (fs.vol.readdirSync('/etc/ssh') as string[]).filter((n) => /^ssh_host_.*_key$/.test(n));
  });
}

/**
 * src/agent/fork.rs `build_rejuvenation_script` for a clone: hostname, /etc/hostname, a fresh
 * machine-id (and dbus's when it is a regular file), cloud-init instance state removed, and the
 * `restored` marker (umask 077). The kernel hostname it sets lives in the record's `vmm`.
 */
export function rejuvenate(fs: GuestFs, clone: string): void {
  fs.as(ROOT, () => {
    writeKeepingMode(fs, '/etc/hostname', `${clone}\n`, 0o644);
    writeKeepingMode(fs, '/etc/machine-id', `${freshMachineId()}\n`, 0o644);
    const dbus = '/var/lib/dbus/machine-id';
    if (fs.vol.existsSync(dbus) && fs.vol.lstatSync(dbus).isFile()) writeKeepingMode(fs, dbus, `${freshMachineId()}\n`, 0o644);
    fs.vol.rmSync('/var/lib/cloud/instance', { recursive: true, force: true });
    fs.vol.rmSync('/var/lib/cloud/data/instance-id', { force: true });
    if (fs.vol.existsSync('/var/lib/cloud/instances')) {
      for (const name of fs.vol.readdirSync('/var/lib/cloud/instances') as string[]) {
        fs.vol.rmSync(posix.join('/var/lib/cloud/instances', name), { recursive: true, force: true });
      }
    }
  });
  fs.mkdirs(STATE_DIR, 0o700);
  writePrivate(fs, RESTORED_PATH, 'smolvm-forkpoint-restored-v1\n');
}

/** src/agent/fork.rs `render_fork_env`: one `KEY=VALUE` line each. */
export function renderForkEnv(env: ReadonlyArray<readonly [string, string]>): string {
  return env.map(([k, v]) => `${k}=${v}\n`).join('');
}

/** src/agent/fork.rs `write_fork_env`: `mkdir -p /etc/smolvm && umask 077 && cat > …`; none when empty. */
export function writeForkEnv(fs: GuestFs, env: ReadonlyArray<readonly [string, string]>): void {
  if (env.length === 0) return;
  fs.mkdirs('/etc/smolvm');
  fs.as(ROOT, () => writeKeepingMode(fs, FORK_ENV_PATH, renderForkEnv(env), 0o600));
}

/** src/agent/fork.rs `release_forkpoint`: the release marker, 0600, wakes the clone's workload. */
export function releaseForkpoint(fs: GuestFs): void {
  fs.mkdirs(STATE_DIR, 0o700);
  writePrivate(fs, RELEASE_PATH, 'smolvm-forkpoint-release-v1\n');
}

/**
 * src/agent/fork.rs `build_activation_script` (fork-release of a held slot): 42 when the slot was
 * released already, 43 when it is not parked at a forkpoint, else it replaces the fork env and
 * publishes the release marker. Returns the script's exit status.
 */
export function activateHeld(fs: GuestFs, env: ReadonlyArray<readonly [string, string]>, token: string): number {
  const exists = (path: string): boolean => fs.as(ROOT, () => fs.vol.existsSync(path));
  const read = (path: string): string | undefined => fs.as(ROOT, () => (fs.vol.existsSync(path) ? String(fs.vol.readFileSync(path, 'utf8')) : undefined));
  if (exists(RELEASE_PATH)) return read(ACTIVATION_PATH) === `${token}\n` ? 0 : 42;
  if (!exists(READY_PATH)) return 43;
  fs.as(ROOT, () => fs.vol.rmSync(WORKER_READY_PATH, { force: true }));
  // `ln` of the receipt fails when one exists; the script then accepts only its own token.
  if (exists(ACTIVATION_PATH)) {
    if (read(ACTIVATION_PATH) !== `${token}\n`) return 42;
  } else {
    fs.put(ACTIVATION_PATH, `${token}\n`, 0o644); // written before the script's `umask 077`
  }
  fs.mkdirs('/etc/smolvm');
  fs.put(FORK_ENV_PATH, renderForkEnv(env), 0o600); // `mv` of a 0600 temporary file
  writePrivate(fs, RELEASE_PATH, 'smolvm-forkpoint-release-v1\n');
  return 0;
}

function freshMachineId(): string {
  return randomUUID().replaceAll('-', '');
}

/** A shell `>` redirection: an existing file keeps its mode, a new one gets `mode`. */
function writeKeepingMode(fs: GuestFs, path: string, content: string, mode: number): void {
  if (fs.vol.existsSync(path)) fs.vol.writeFileSync(path, content);
  else fs.put(path, content, mode);
}

function writePrivate(fs: GuestFs, path: string, content: string): void {
  fs.put(path, content, 0o600);
}
