import { ClaudeBottleError } from '../errors.ts';
import type { Env } from '../host/state.ts';

/** Exit codes of the CLI (documented in the README). */
export const EXIT = {
  ok: 0,
  /** The operation failed: engine error, launch failure, unknown bottle. */
  failure: 1,
  /** Bad command line. */
  usage: 2,
  /** Bad agent file or configuration. */
  config: 3,
  /** `exec`/`claude`: claude-bottle itself failed, so no guest exit code exists (as `docker exec`'s 125). */
  execFailure: 125,
} as const;

export class UsageError extends ClaudeBottleError {
  override name = 'UsageError';
}

/** The process's streams, injectable so tests run the CLI in process. */
export interface Streams {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stdin?: { isTTY?: boolean };
}

/** Where a command writes: results to stdout, progress to stderr (only on a TTY), errors to stderr. */
export interface Io {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly env: Env;
  readonly json: boolean;
  readonly interactive: boolean;
  progress(line: string): void;
  result(text: string): void;
  data(value: unknown): void;
  notice(line: string): void;
}

/** Progress lines go to stderr on a terminal, or always with `CLAUDE_BOTTLE_PROGRESS=1` (for scripts that follow a launch). */
export const PROGRESS_ENV = 'CLAUDE_BOTTLE_PROGRESS';

export function createIo(options: { json: boolean; env?: Env; streams?: Streams }): Io {
  const env = options.env ?? process.env;
  const { stdout, stderr } = options.streams ?? process;
  const stdin = options.streams ? options.streams.stdin : process.stdin;
  const forced = env[PROGRESS_ENV] === '1';
  const stderrTty = stderr.isTTY === true;
  return {
    stdout,
    stderr,
    env,
    json: options.json,
    interactive: stdin?.isTTY === true && stdout.isTTY === true,
    progress: (line) => {
      if (forced || (stderrTty && !options.json)) stderr.write(`${line}\n`);
    },
    result: (text) => {
      if (!options.json) stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    },
    data: (value) => {
      if (options.json) stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    },
    notice: (line) => stderr.write(`claude-bottle: ${line}\n`),
  };
}
