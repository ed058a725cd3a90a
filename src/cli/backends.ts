import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stateRoot } from '../agent/state.ts';
import { DockerEngine } from '../engine/docker.ts';
import { SmolvmEngine } from '../engine/smolvm.ts';
import type { Engine } from '../engine/types.ts';
import { ClaudeBottleError } from '../errors.ts';
import { SmolvmClient } from '../smolvm/client.ts';
import { missingFeatures, type SmolvmVersion } from '../smolvm/version.ts';
import { createExecaTransport } from '../transport/execa.ts';
import type { Transport } from '../transport/types.ts';
import type { Io } from './io.ts';
import { UsageError } from './io.ts';

export const BACKENDS = ['auto', 'smolvm', 'docker', 'fake'] as const;
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
  try {
    const version = await new SmolvmClient(transport).version();
    return { installed: true, version, missing: missingFeatures(version) };
  } catch (error) {
    return { installed: false, missing: [], error: firstLine(error) };
  }
}

export interface DockerProbe {
  readonly answers: boolean;
  readonly version?: string;
  readonly error?: string;
}

export async function probeDocker(transport: Transport): Promise<DockerProbe> {
  try {
    const result = await transport.run(['docker', 'version', '--format', '{{.Server.Version}}'], { timeoutMs: 10_000 });
    if (result.exitCode === 0 && result.stdout.trim()) return { answers: true, version: result.stdout.trim() };
    return { answers: false, error: result.stderr.trim().split('\n')[0] || `docker exited ${result.exitCode}` };
  } catch (error) {
    return { answers: false, error: firstLine(error) };
  }
}

export async function openBackend(choice: BackendChoice, io: Io, transport: Transport = createExecaTransport({ env: io.env })): Promise<BackendHandle> {
  if (choice === 'smolvm') {
    const engine = new SmolvmEngine({ transport });
    await engine.client.requireSupportedVersion();
    return { kind: 'smolvm', engine, close: async () => {} };
  }
  if (choice === 'docker') return { kind: 'docker', engine: new DockerEngine({ transport }), close: async () => {} };
  if (choice === 'fake') return openFake(io);

  const smolvm = await probeSmolvm(transport);
  if (smolvm.installed && smolvm.missing.length === 0) {
    return { kind: 'smolvm', engine: new SmolvmEngine({ transport }), close: async () => {} };
  }
  const docker = await probeDocker(transport);
  if (docker.answers) {
    io.notice(`backend auto: ${smolvmWhy(smolvm)}; using docker ${docker.version}`);
    return { kind: 'docker', engine: new DockerEngine({ transport }), close: async () => {} };
  }
  const fake = await openFake(io);
  io.notice(`backend auto: ${smolvmWhy(smolvm)}, no Docker engine answers; using the in-memory fake smolvm (state in ${fakeStateDir(io)})`);
  return fake;
}

function smolvmWhy(probe: SmolvmProbe): string {
  if (!probe.installed) return 'smolvm not installed';
  return `smolvm ${probe.version?.raw} is too old (${probe.missing.join('; ')})`;
}

export function fakeStateDir(io: Pick<Io, 'env'>): string {
  return join(stateRoot(io.env), 'fake-smolvm');
}

/** The embedded fake, its machines persisted in the state dir so later invocations see them. */
async function openFake(io: Io): Promise<BackendHandle> {
  const { createFakeSmolvm } = await import('../../fakes/index.ts');
  const dir = fakeStateDir(io);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const release = await lock(join(dir, 'lock'));
  try {
    const file = join(dir, 'state.json');
    const saved = await readFile(file, 'utf8').then(JSON.parse, (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    const fake = createFakeSmolvm({ env: io.env, ...(saved ? { state: saved } : {}) });
    const engine = new SmolvmEngine({ transport: fake });
    return {
      kind: 'fake',
      engine,
      close: async () => {
        try {
          const tmp = `${file}.${process.pid}.tmp`;
          await writeFile(tmp, JSON.stringify(fake.exportState()), { mode: 0o600 });
          await rename(tmp, file);
        } finally {
          await release();
        }
      },
    };
  } catch (error) {
    await release();
    throw error;
  }
}

/** A mkdir lock: one CLI invocation at a time owns the fake's state. */
async function lock(path: string, timeoutMs = 30_000): Promise<() => Promise<void>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await mkdir(path);
      await writeFile(join(path, 'pid'), String(process.pid));
      return () => rm(path, { recursive: true, force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(await readFile(join(path, 'pid'), 'utf8').catch(() => '0'));
      if (owner && !alive(owner)) {
        await rm(path, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new ClaudeBottleError(`the fake smolvm state is locked by process ${owner} (${path})`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}
