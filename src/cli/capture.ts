// Runs the CLI in this process, its output captured: what the CLI's unit tests drive.
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Env } from '../host/state.ts';
import { main } from './main.ts';

export interface CliRun {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A writable that keeps what it is given; `text()` decodes it. */
export function captureStream(): Writable & { text(): string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      chunks.push(Buffer.from(chunk));
      callback();
    },
  });
  return Object.assign(stream, { text: () => Buffer.concat(chunks).toString('utf8') });
}

/** `claude-bottle ...argv` with `env` as its whole environment, not a terminal. */
export async function runCli(argv: readonly string[], env: Env, streams = { stdout: captureStream(), stderr: captureStream() }): Promise<CliRun> {
  const exitCode = await main(argv, env, streams);
  return { exitCode, stdout: streams.stdout.text(), stderr: streams.stderr.text() };
}

/**
 * An environment for CLI tests under `work`: its own home and state, and no real engine for
 * `--backend auto` to find (each engine's binary points at a path that does not exist).
 */
export function isolatedCliEnv(work: string, path = process.env.PATH ?? ''): Record<string, string> {
  return {
    PATH: path,
    HOME: join(work, 'home'),
    CLAUDE_BOTTLE_STATE_DIR: join(work, 'state'),
    SMOLVM_BIN: join(work, 'absent-smolvm'),
    DOCKER_BIN: join(work, 'absent-docker'),
    PODMAN_BIN: join(work, 'absent-podman'),
  };
}
