/**
 * `provisionGit`: clone the plan's repository into the guest workspace through the git gate, in
 * one exec as the guest user. The clone's `origin` is the gate; the agent's identity is set in
 * the clone's own config; the checked-out branch is `<prefix>work`, so `git push` (or
 * `git push -u origin HEAD`) lands inside the branches the gate accepts.
 *
 * The gate's credential reaches the guest as a file, never argv: a git config include
 * (`<home>/.claude-bottle-git.conf`, 0600, the guest user's) holding an `http.<gate URL>.extraHeader`
 * — so git sends it to the gate and to nothing else — uploaded from a 0600 host temp file. The
 * clone reads it through `GIT_CONFIG_*` in its environment, and the clone's own config includes
 * it for every later fetch and push.
 *
 * The workspace's parent must be writable by the guest user (the default, `<home>/workspace`, is).
 */
import { posix } from 'node:path';
import type { Engine } from '../engine/types.ts';
import type { Plan } from '../plan/plan.ts';
import { ProvisionError } from './error.ts';
import { uploadBytes } from './planned-file.ts';

/** In the guest user's home, beside the prompt file; 0600. */
export const GUEST_GIT_CREDENTIAL_FILE = '.claude-bottle-git.conf';

/** `$1` gate URL, `$2` workspace, `$3` name, `$4` email, `$5` branch, `$6` the credential include (may be empty). */
export const GIT_PROVISION_SCRIPT = [
  'set -e',
  'git clone -q -- "$1" "$2"',
  'cd "$2"',
  '[ -z "$6" ] || git config include.path "$6"',
  'git config user.name "$3"',
  'git config user.email "$4"',
  // A first `git push` on the new branch sets its upstream by itself (git ≥ 2.37; ignored before).
  'git config push.autoSetupRemote true',
  'git checkout -q -b "$5"',
].join('\n');

export function gitProvisionArgv(plan: Plan, gateUrl: string, credentialFile = ''): string[] {
  if (!plan.git) throw new ProvisionError('git: the plan has no git section');
  const { workspace, name, email, branch } = plan.git;
  return ['sh', '-c', GIT_PROVISION_SCRIPT, 'sh', gateUrl, workspace, name, email, branch, credentialFile];
}

/** The include file's text: the header for the gate's URL only (git matches scheme, host, port and path prefix). */
export function gitCredentialConfig(gateUrl: string, token: string): string {
  if (!/^[A-Za-z0-9._~+/=-]+$/.test(token)) throw new ProvisionError('git: the gate credential has characters a git config value cannot hold plainly');
  const base = new URL(gateUrl);
  const scope = `${base.protocol}//${base.host}/`;
  return `[http "${scope}"]
	extraHeader = Authorization: Bearer ${token}
`;
}

/** The gate's credential as the guest user's 0600 include file, from a 0600 host temp file (never argv); its guest path. */
async function uploadCredential(engine: Engine, machine: string, plan: Plan, gateUrl: string, token: string): Promise<string> {
  const { uid, gid, home } = plan.agent.user;
  const credentialFile = posix.join(home, GUEST_GIT_CREDENTIAL_FILE);
  const config = new TextEncoder().encode(gitCredentialConfig(gateUrl, token));
  await uploadBytes(engine, machine, config, credentialFile, { mode: 0o600, uid, gid }, 'credential.conf');
  return credentialFile;
}

/** Returns the workspace path, or undefined when the plan has no git section. */
export async function provisionGit(engine: Engine, machine: string, plan: Plan, gateUrl: string, token?: string): Promise<string | undefined> {
  if (!plan.git) return undefined;
  const { uid, gid } = plan.agent.user;
  const credentialFile = token !== undefined ? await uploadCredential(engine, machine, plan, gateUrl, token) : '';
  const result = await engine.exec(machine, gitProvisionArgv(plan, gateUrl, credentialFile), {
    user: { uid, gid },
    env: {
      // Never wait on a credential prompt: the header is the credential.
      GIT_TERMINAL_PROMPT: '0',
      // The clone has no config yet: it reads the include from its environment.
      ...(credentialFile ? { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'include.path', GIT_CONFIG_VALUE_0: credentialFile } : {}),
    },
  });
  if (result.exitCode !== 0) throw new ProvisionError(`git: cloning ${gateUrl} into ${plan.git.workspace} failed`, result);
  return plan.git.workspace;
}

/** `$1` workspace, `$2` gate URL, `$3` branch: a fork's clone, turned to its own gate and branch. */
export const GIT_FORK_SCRIPT = ['set -e', 'cd "$1"', 'git remote set-url origin "$2"', 'git checkout -q -b "$3"'].join('\n');

/**
 * A fork's clone is its golden's, copied: point it at the fork's own gate (a new credential file
 * over the golden's, 0600) and start the fork's own branch. Nothing is cloned again.
 */
export async function provisionGitFork(engine: Engine, machine: string, plan: Plan, gateUrl: string, token: string): Promise<string | undefined> {
  if (!plan.git) return undefined;
  const { uid, gid } = plan.agent.user;
  await uploadCredential(engine, machine, plan, gateUrl, token);
  const result = await engine.exec(machine, ['sh', '-c', GIT_FORK_SCRIPT, 'sh', plan.git.workspace, gateUrl, plan.git.branch], {
    user: { uid, gid },
    env: { GIT_TERMINAL_PROMPT: '0' },
  });
  if (result.exitCode !== 0) throw new ProvisionError(`git: turning the fork's clone in ${plan.git.workspace} to ${gateUrl} failed`, result);
  return plan.git.workspace;
}
