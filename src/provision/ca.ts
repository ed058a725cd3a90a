/**
 * `provisionCa`: make the guest trust the plan's CA certificate (e.g. a TLS-intercepting egress
 * proxy's). The PEM lands at /usr/local/share/ca-certificates/claude-bottle.crt (0644, root);
 * then one script rebuilds the system bundle with `update-ca-certificates` where the guest has
 * it, and where it has not, appends the CA to the bundle directly. Every exec of the bottle then
 * carries the variables below through its environment (never argv), because Node reads
 * NODE_EXTRA_CA_CERTS only at process start and the others replace their tool's default store.
 */
import { MAX_CA_FILE_BYTES } from '../agent/limits.ts';
import type { Engine } from '../engine/types.ts';
import type { Plan } from '../plan/plan.ts';
import { ProvisionError } from './error.ts';
import { readPlannedFile, uploadBytes } from './planned-file.ts';

/** The system bundle on Debian and Alpine: the CA is in it once provisioned. */
export const GUEST_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

/** Variables pointing at the CA alone (additive) and at the combined system bundle (replacing). */
export const CA_ENV = {
  additive: ['NODE_EXTRA_CA_CERTS'],
  bundle: ['SSL_CERT_FILE', 'REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE', 'GIT_SSL_CAINFO'],
} as const;

const AS_ROOT = { user: { uid: 0, gid: 0 } } as const;

/** The environment every exec in a bottle of this plan carries; empty without a CA. */
export function caEnv(plan: { readonly ca?: { readonly guestPath: string } | undefined }): Record<string, string> {
  if (!plan.ca) return {};
  const env: Record<string, string> = {};
  for (const name of CA_ENV.additive) env[name] = plan.ca.guestPath;
  for (const name of CA_ENV.bundle) env[name] = GUEST_CA_BUNDLE;
  return env;
}

/**
 * `$1` the uploaded CA, `$2` the bundle, `$3` its directory. POSIX sh (dash, busybox): the first
 * line of stdout names the branch taken, so a failure can say which; a failing
 * `update-ca-certificates` fails the script rather than falling back to the append.
 */
export const CA_INSTALL_SCRIPT = [
  'if command -v update-ca-certificates >/dev/null 2>&1; then',
  '  echo update-ca-certificates',
  '  update-ca-certificates',
  'else',
  '  echo append',
  '  mkdir -p "$3" && cat "$1" >> "$2"',
  'fi',
].join('\n');

/**
 * Uploads and installs the plan's CA; returns its guest path, or undefined when the plan has none.
 * The state dir's copy is read once and checked against the plan's sha256 (a file swapped since
 * prepare fails before any upload), and the engine gets a private copy of exactly those bytes.
 */
export async function provisionCa(engine: Engine, machine: string, plan: Plan): Promise<string | undefined> {
  if (!plan.ca) return undefined;
  const { guestPath } = plan.ca;
  const pem = await readPlannedFile('ca', 'the CA certificate', plan.ca, MAX_CA_FILE_BYTES);
  await uploadBytes(engine, machine, pem, guestPath, { mode: 0o644, uid: 0, gid: 0 }, 'ca.crt');
  const bundleDir = GUEST_CA_BUNDLE.slice(0, GUEST_CA_BUNDLE.lastIndexOf('/'));
  const result = await engine.exec(machine, ['sh', '-c', CA_INSTALL_SCRIPT, 'sh', guestPath, GUEST_CA_BUNDLE, bundleDir], AS_ROOT);
  if (result.exitCode !== 0) {
    // No CA tooling (busybox, distroless-like guests): the bundle was ours to extend.
    if (result.stdout.split('\n', 1)[0] === 'append') throw new ProvisionError(`ca: appending ${guestPath} to ${GUEST_CA_BUNDLE} failed`, result);
    throw new ProvisionError(`ca: update-ca-certificates failed after installing ${guestPath}`, result);
  }
  return guestPath;
}
