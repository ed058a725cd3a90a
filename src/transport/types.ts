/** What every engine call crosses: argv in, one result shape out, success or failure alike. */
export interface RunOptions {
  /** Bytes or text fed to the child's stdin. Absent means the child gets no stdin (EOF at once). */
  readonly stdin?: string | Uint8Array;
  /**
   * Extra environment for the child, layered over the transport's base environment.
   * This is how secret values reach an engine (`-e KEY` with the value here), never through argv.
   */
  readonly env?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Attach the caller's terminal (interactive `claude`). Output is then not captured. */
  readonly inheritStdio?: boolean;
}

export interface CommandResult {
  /** The full argv, the binary first. */
  readonly argv: readonly string[];
  /** The child's exit code; 128+N for a signal; -1 if it never produced one (timeout or abort). */
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  /** Raw stdout bytes, for binary output. */
  readonly stdoutBytes: Uint8Array;
  readonly durationMs: number;
  readonly timedOut: boolean;
}

export interface Transport {
  /** `argv[0]` is the program name (`smolvm`, `docker`); the transport maps it to a binary. */
  run(argv: readonly string[], options?: RunOptions): Promise<CommandResult>;
}
