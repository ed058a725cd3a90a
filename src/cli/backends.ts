// The engines load per backend kind, when one is opened or probed: `exec` on Docker loads the
// docker adapter, not smolvm's, podman's or the fake.
import { join } from 'node:path';
import { stateRoot } from '../host/state.ts';
import type { probeDocker as probeDockerEngine } from '../engines/docker/engine.ts';
import type { probePodman as probePodmanEngine } from '../engines/podman/engine.ts';
import type { Engine } from '../engine/types.ts';
import type { SmolvmVersion } from '../engines/smolvm/version.ts';
import { createProcessTransport } from '../transport/process.ts';
import type { Transport } from '../transport/types.ts';
import { ConfigError } from '../errors.ts';
import type { Io } from './io.ts';
import { UsageError } from './io.ts';

export const BACKENDS = ['auto', 'smolvm', 'docker', 'podman', 'fake'] as const;
export type BackendChoice = (typeof BACKENDS)[number];
export type BackendKind = Exclude<BackendChoice, 'auto'>;

export interface BackendHandle {
  readonly kind: BackendKind;
  readonly engine: Engine;
  /** Persists what must outlive this process (the fake's machines). */
  close(): Promise<void>;
}

export function parseBackend(value: string | undefined): BackendChoice {
  const choice = value ?? 'auto';
  if (!(BACKENDS as readonly string[]).includes(choice)) {
    throw new UsageError(`--backend must be one of ${BACKENDS.join(', ')}; got ${JSON.stringify(choice)}`);
  }
  return choice as BackendChoice;
}

export interface SmolvmProbe {
  readonly installed: boolean;
  readonly version?: SmolvmVersion;
  readonly missing: readonly string[];
  readonly error?: string;
}

export async function probeSmolvm(transport: Transport): Promise<SmolvmProbe> {
  const { missingFeatures, readSmolvmVersion } = await import('../engines/smolvm/version.ts');
  try {
    const version = await readSmolvmVersion(transport);
    return { installed: true, version, missing: missingFeatures(version) };
  } catch (error) {
    return { installed: false, missing: [], error: firstLine(error) };
  }
}

/** Whether a Docker engine answers through this transport, and its version; never throws for an absent one. */
export const probeDocker: typeof probeDockerEngine = async (...args) => (await import('../engines/docker/engine.ts')).probeDocker(...args);

/** Whether podman runs through this transport, and its version; never throws for an absent one. */
export const probePodman: typeof probePodmanEngine = async (...args) => (await import('../engines/podman/engine.ts')).probePodman(...args);

/** `CLAUDE_BOTTLE_FIREWALL=off`: container routes without their per-bottle firewall (unsafe; for hosts without root or iptables). */
export const FIREWALL_ENV = 'CLAUDE_BOTTLE_FIREWALL';

function containerOptions(io: Io): { firewall?: 'off' } {
  const value = io.env[FIREWALL_ENV];
  if (value === undefined || value === '' || value === 'on') return {};
  if (value !== 'off')
    throw new ConfigError(`${FIREWALL_ENV} must be "on" or "off"; got ${JSON.stringify(value)}`, [{ path: FIREWALL_ENV, message: 'not on or off' }]);
  io.notice(
    `${FIREWALL_ENV}=off: container bottles with daemons get no per-bottle firewall. Their guests reach every service listening on the host's gateway address, and other containers reach their daemons (which still ask for the bottle's credential).`,
  );
  return { firewall: 'off' };
}

export async function openBackend(choice: BackendChoice, io: Io, transport: Transport = createProcessTransport({ env: io.env })): Promise<BackendHandle> {
  if (choice === 'smolvm') {
    const { requireSmolvmVersion } = await import('../engines/smolvm/version.ts');
    return openSmolvm(transport, await requireSmolvmVersion(transport));
  }
  if (choice === 'docker') return openDocker(transport, io);
  if (choice === 'podman') return openPodman(transport, io);
  if (choice === 'fake') return openFake(io);

  const smolvm = await probeSmolvm(transport);
  if (smolvm.installed && smolvm.missing.length === 0) {
    io.notice(`backend auto: using smolvm ${smolvm.version?.raw}`);
    return openSmolvm(transport, smolvm.version);
  }
  const docker = await probeDocker(transport);
  if (docker.answers) {
    io.notice(`backend auto: ${smolvmWhy(smolvm)}; using docker ${docker.version}`);
    return openDocker(transport, io);
  }
  const podman = await probePodman(transport, io.env);
  if (podman.answers) {
    io.notice(`backend auto: ${smolvmWhy(smolvm)}, no Docker engine answers; using podman ${podman.version}`);
    return openPodman(transport, io);
  }
  const fake = await openFake(io);
  io.notice(`backend auto: ${smolvmWhy(smolvm)}, no Docker engine answers, no podman runs; using the in-memory fake smolvm (state in ${fakeStateDir(io)})`);
  return fake;
}

const nothingToClose = async (): Promise<void> => {};

async function openSmolvm(transport: Transport, version: SmolvmVersion | undefined): Promise<BackendHandle> {
  const { SmolvmEngine } = await import('../engines/smolvm/engine.ts');
  return { kind: 'smolvm', engine: new SmolvmEngine({ transport, ...(version ? { version } : {}) }), close: nothingToClose };
}

async function openDocker(transport: Transport, io: Io): Promise<BackendHandle> {
  const { DockerEngine } = await import('../engines/docker/engine.ts');
  return { kind: 'docker', engine: new DockerEngine({ transport, ...containerOptions(io) }), close: nothingToClose };
}

async function openPodman(transport: Transport, io: Io): Promise<BackendHandle> {
  const { PodmanEngine } = await import('../engines/podman/engine.ts');
  return { kind: 'podman', engine: new PodmanEngine({ transport, hostEnv: io.env, ...containerOptions(io) }), close: nothingToClose };
}

function smolvmWhy(probe: SmolvmProbe): string {
  if (!probe.installed) return 'smolvm not installed';
  return `smolvm ${probe.version?.raw} is too old (${probe.missing.join('; ')})`;
}

export function fakeStateDir(io: Pick<Io, 'env'>): string {
  return join(stateRoot(io.env), 'fake-smolvm');
}

/**
 * The embedded fake, its machines persisted in the state dir (the same format as fakes/bin/smolvm).
 * Opened on the first engine call, so a command that fails before using the engine (a bad agent
 * file) writes nothing.
 */
async function openFake(io: Io): Promise<BackendHandle> {
  const [{ openPersistentFakeSmolvm, claudeStandIn }, { SmolvmEngine }] = await Promise.all([
    import('../../fakes/index.ts'),
    import('../engines/smolvm/engine.ts'),
  ]);
  let opened: ReturnType<typeof openPersistentFakeSmolvm> | undefined;
  const open = () =>
    (opened ??= openPersistentFakeSmolvm(fakeStateDir(io), { env: io.env }).then((persistent) => {
      persistent.fake.registerCommand('claude', claudeStandIn);
      return persistent;
    }));
  const transport: Transport = { run: async (argv, options) => (await open()).fake.run(argv, options) };
  return {
    kind: 'fake',
    engine: new SmolvmEngine({ transport }),
    close: async () => {
      if (opened) await (await opened).close();
    },
  };
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}
