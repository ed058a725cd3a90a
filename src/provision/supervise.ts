/**
 * `provisionSupervise`: put the MCP config that points the bottled claude at its supervise server
 * into the guest — 0600, owned by the guest user — keeping a host copy (0600, written
 * atomically) under the given state dir. `superviseFlags` is the matching claude argv: the
 * config and `--strict-mcp-config` (only the servers given there) exactly when supervise is
 * planned, nothing otherwise.
 */
import { mkdir } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { guestPathProblem } from '../agent/names.ts';
import { writeFileAtomic } from '../host/state.ts';
import type { Engine } from '../engine/types.ts';
import { ConfigError } from '../errors.ts';
import { type McpConfig, mcpConfigFor } from '../daemons/supervise/server.ts';
import { ProvisionError } from './error.ts';

/** In the guest user's home, beside the prompt file. */
import { GUEST_MCP_CONFIG_FILE, type Plan } from '../plan/plan.ts';

export { GUEST_MCP_CONFIG_FILE };
export const HOST_MCP_CONFIG_FILE = 'mcp-config.json';

/**
 * For each dir in "$1".."$n" (parents first): create it if missing and only then chown it to "$0".
 * Simple commands only, so it runs on any busybox-like sh (and the fake's).
 */
function mkdirOwnedScript(count: number): string {
  return Array.from({ length: count }, (_, i) => `mkdir "$${i + 1}" 2>/dev/null && chown "$0" "$${i + 1}"; [ -d "$${i + 1}" ] || exit 1`).join('; ');
}

/** `/a/b/c` → `['/a', '/a/b', '/a/b/c']`. */
function ancestry(dir: string): string[] {
  const parts = dir.split('/').filter(Boolean);
  return parts.map((_, i) => `/${parts.slice(0, i + 1).join('/')}`);
}

export function guestMcpConfigPath(home: string): string {
  return posix.join(home, GUEST_MCP_CONFIG_FILE);
}

export interface SuperviseProvisionOptions {
  /** Absolute guest path of the config. */
  readonly configGuestPath: string;
  /** The JSON claude reads (`mcpConfigFor(url)`), or its text. */
  readonly mcpConfig: McpConfig | string;
  /** The guest user who owns the file. */
  readonly user: { readonly uid: number; readonly gid: number };
  /** Host dir for the copy that is uploaded (e.g. the bottle's state dir). */
  readonly stateDir: string;
}

/** Uploads the MCP config; returns its guest path (the value for `superviseFlags`). */
export async function provisionSupervise(engine: Engine, machine: string, options: SuperviseProvisionOptions): Promise<string> {
  const { configGuestPath, user } = options;
  const problem = guestPathProblem(configGuestPath);
  if (problem) {
    const message = `${JSON.stringify(configGuestPath)} is not a valid guest path: it ${problem}`;
    throw new ConfigError(`supervise: ${message}`, [{ path: 'supervise.configGuestPath', message }]);
  }
  const text = typeof options.mcpConfig === 'string' ? options.mcpConfig : `${JSON.stringify(options.mcpConfig, null, 2)}\n`;
  try {
    JSON.parse(text);
  } catch {
    const message = 'the MCP config is not JSON';
    throw new ConfigError(`supervise: ${message}`, [{ path: 'supervise.mcpConfig', message }]);
  }
  await mkdir(options.stateDir, { recursive: true, mode: 0o700 });
  const hostPath = join(options.stateDir, HOST_MCP_CONFIG_FILE);
  await writeFileAtomic(hostPath, text, { mode: 0o600 });
  const dir = posix.dirname(configGuestPath);
  // Missing parents are created and given to the guest user (smolvm execs as root): never leave
  // a root-owned ~/.config behind.
  const dirs = ancestry(dir);
  const made = await engine.exec(machine, ['sh', '-c', mkdirOwnedScript(dirs.length), `${user.uid}:${user.gid}`, ...dirs], { user: { uid: 0, gid: 0 } });
  if (made.exitCode !== 0) throw new ProvisionError(`supervise: cannot create ${dir} in the guest`, made);
  await engine.upload(machine, hostPath, configGuestPath, { mode: 0o600, uid: user.uid, gid: user.gid });
  return configGuestPath;
}

/** `--mcp-config <path> --strict-mcp-config` when supervise is provisioned, else nothing. */
export function superviseFlags(configGuestPath: string | undefined): string[] {
  return configGuestPath === undefined ? [] : ['--mcp-config', configGuestPath, '--strict-mcp-config'];
}

/**
 * The plan's supervise section, served at `serverUrl` (as the guest dials it); `token` (the
 * bottle's credential) goes in the config's `headers`, which Claude Code sends. Returns the
 * guest config path, or undefined without one.
 */
export async function provisionPlannedSupervise(
  engine: Engine,
  machine: string,
  plan: Plan,
  serverUrl: string,
  token?: string,
  /** The bottle's run dir, for the host copy (it holds the credential: it goes with the bottle). */
  hostDir: string = join(plan.stateDir, 'bottles', machine),
): Promise<string | undefined> {
  if (!plan.supervise) return undefined;
  return provisionSupervise(engine, machine, {
    configGuestPath: plan.supervise.configGuestPath,
    mcpConfig: mcpConfigFor(serverUrl, plan.supervise.name, token),
    user: plan.agent.user,
    // Per bottle: two bottles of one agent serve different URLs and credentials.
    stateDir: hostDir,
  });
}
