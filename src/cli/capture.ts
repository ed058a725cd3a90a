// Runs the CLI in this process, its output captured: what the CLI's unit tests drive.
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
