import { arch, platform } from 'node:os';
import { stateRoot } from '../../host/state.ts';
import { agentImageStatus, type AgentImageStatus } from '../../image/build.ts';
import { findPipelock, PIPELOCK_BIN_ENV } from '../../daemons/pipelock/daemon.ts';
import { SMOLVM_MIN_VERSION } from '../../engines/smolvm/version.ts';
import { createProcessTransport } from '../../transport/process.ts';
import type { ContainersConfSetup } from '../../engines/podman/containers-conf.ts';
import { FIREWALL_ENV, probeDocker, probePodman, probeSmolvm } from '../backends.ts';
import { IptablesFirewall } from '../../engines/container/firewall.ts';
import { EXIT, type Io } from '../io.ts';
import { imageStatusLine } from './image.ts';

export async function doctorCommand(io: Io): Promise<number> {
  const transport = createProcessTransport({ env: io.env });
  const [smolvm, docker, podman, pipelock, firewall] = await Promise.all([
    probeSmolvm(transport),
    probeDocker(transport),
    probePodman(transport, io.env),
    probePipelock(transport, io.env),
    probeFirewall(transport, io.env),
  ]);
  // The agent image is a Docker image; without an engine there is nothing to ask.
  const imageIn = (engine: 'docker' | 'podman'): Promise<AgentImageStatus | { error: string }> =>
    agentImageStatus(transport, { engine }).catch((error: unknown) => ({
      error: error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error),
    }));
  const [image, podmanImage] = await Promise.all([docker.answers ? imageIn('docker') : null, podman.answers ? imageIn('podman') : null]);
  const report = {
    platform: `${platform()}/${arch()}`,
    node: process.versions.node,
    smolvm: {
      binary: io.env.SMOLVM_BIN ?? 'smolvm',
      installed: smolvm.installed,
      version: smolvm.version?.raw ?? null,
      minimum: SMOLVM_MIN_VERSION,
      missing: smolvm.missing,
      ...(smolvm.error ? { error: smolvm.error } : {}),
      supportedHere: platform() === 'darwin' || platform() === 'linux',
    },
    docker: {
      binary: io.env.DOCKER_BIN ?? 'docker',
      answers: docker.answers,
      version: docker.version ?? null,
      ...(docker.error ? { error: docker.error } : {}),
    },
    podman: {
      binary: io.env.PODMAN_BIN ?? 'podman',
      answers: podman.answers,
      version: podman.version ?? null,
      ...(podman.error ? { error: podman.error } : {}),
      ...(podman.setup ? { containersConf: podman.setup } : {}),
    },
    image,
    podmanImage,
    pipelock,
    firewall,
    stateDir: stateRoot(io.env),
  };
  io.data(report);
  io.result(
    [
      `platform   ${report.platform} (node ${report.node})`,
      `smolvm     ${smolvm.installed ? `${smolvm.version?.raw}${smolvm.missing.length ? ` — lacks: ${smolvm.missing.join('; ')}` : ' — ok'}` : `not found (${smolvm.error}); install smolvm >= ${SMOLVM_MIN_VERSION} or set SMOLVM_BIN`}`,
      `docker     ${docker.answers ? `engine ${docker.version} — ok` : `no engine answers (${docker.error})`}`,
      `podman     ${podman.answers ? `${podman.version} — ok${podman.setup ? containersConfNote(podman.setup) : ''}` : `does not run (${podman.error}); install podman (Debian: apt-get install podman) or set PODMAN_BIN`}`,
      `image      ${image === null ? 'unknown (no Docker engine answers)' : imageLine(image)}`,
      ...(podmanImage ? [`           in podman: ${imageLine(podmanImage)}`] : []),
      `firewall   ${firewallLine(firewall)}`,
      `pipelock   ${pipelock.path ? `${pipelock.path} — ${pipelock.version !== null ? `${pipelock.version} — ok` : pipelock.error}` : `not found — needed only for egress plans; install it or set ${PIPELOCK_BIN_ENV}`}`,
      `state dir  ${report.stateDir}`,
    ].join('\n'),
  );
  return EXIT.ok;
}

/** The per-bottle firewall Docker and Podman host routes install (iptables, as root). */
async function probeFirewall(
  transport: ReturnType<typeof createProcessTransport>,
  env: Readonly<Record<string, string | undefined>>,
): Promise<{ mode: 'on' | 'off'; available: boolean; version: string | null; error?: string }> {
  const mode = env[FIREWALL_ENV] === 'off' ? 'off' : 'on';
  try {
    // Whether rules can be installed at all; the owner plays no part in the check.
    await new IptablesFirewall(transport, 'docker').check();
    const version = await transport.run(['iptables', '--version'], { timeoutMs: 5000 });
    return { mode, available: true, version: version.exitCode === 0 ? version.stdout.trim() : null };
  } catch (error) {
    return { mode, available: false, version: null, error: (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '' };
  }
}

function firewallLine(f: Awaited<ReturnType<typeof probeFirewall>>): string {
  if (f.mode === 'off') return `OFF (${FIREWALL_ENV}=off): container bottles with daemons have no network isolation — unsafe`;
  if (f.available) return `${f.version ?? 'iptables'}, root: per-bottle rules for Docker and Podman bottles with daemons — ok`;
  return `MISSING (${f.error}): Docker and Podman bottles with daemons are refused; install iptables and run as root, or ${FIREWALL_ENV}=off (unsafe: no network isolation)`;
}

/** pipelock runs on the host beside egress-proxied bottles; only those plans need it. */
async function probePipelock(
  transport: ReturnType<typeof createProcessTransport>,
  env: Readonly<Record<string, string | undefined>>,
): Promise<{ binary: string; found: boolean; path: string | null; version: string | null; error?: string }> {
  const binary = env[PIPELOCK_BIN_ENV] ?? 'pipelock';
  const path = findPipelock(env);
  if (!path) return { binary, found: false, path: null, version: null };
  const result = await transport.run([path, '--version'], { timeoutMs: 5000 }).catch((error: unknown) => ({ exitCode: -1, stdout: '', stderr: String(error) }));
  const version = result.exitCode === 0 ? (result.stdout.trim().split('\n')[0] ?? '').replace(/^pipelock version\s*/, '') : null;
  return { binary, found: true, path, version, ...(version === null ? { error: `--version failed: ${result.stderr.trim().split('\n').at(-1) ?? ''}` } : {}) };
}

/** What claude-bottle does about podman's default ulimits here (see engines/podman/containers-conf.ts). */
function containersConfNote(setup: ContainersConfSetup): string {
  if (setup.mode === 'podman-default') return '';
  if (setup.mode === 'user') {
    return `; CONTAINERS_CONF=${setup.path} is yours and left alone${setup.problem ? ` (it needs default_ulimits = [] under [containers]: ${setup.problem})` : ''}`;
  }
  return (
    `; ${setup.problem}, so claude-bottle points its podman calls at ${setup.path} (CONTAINERS_CONF, ` +
    'default_ulimits = []: containers inherit the host limits; podman then reads that file instead of its own containers.conf; set CONTAINERS_CONF to use yours)'
  );
}

function imageLine(status: AgentImageStatus | { error: string }): string {
  return 'error' in status ? `cannot inspect (${status.error})` : imageStatusLine(status);
}
