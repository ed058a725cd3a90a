/** Base class of every error the SDK throws on purpose. */
export class ClaudeBottleError extends Error {
  override name = 'ClaudeBottleError';
}

/** Bad user input: names the field path and the bad value. */
export class ConfigError extends ClaudeBottleError {
  override name = 'ConfigError';
  readonly issues: readonly { readonly path: string; readonly message: string }[];
  constructor(message: string, issues: readonly { path: string; message: string }[] = []) {
    super(message);
    this.issues = issues;
  }
}

/** The engine binary could not be started at all. */
export class BinaryNotFoundError extends ClaudeBottleError {
  override name = 'BinaryNotFoundError';
  readonly argv: readonly string[];
  readonly binary: string;
  constructor(binary: string, argv: readonly string[], hint: string, options?: { cause?: unknown }) {
    super(`cannot start ${binary}: ${formatArgv(argv)}\n${hint}`, options);
    this.binary = binary;
    this.argv = argv;
  }
}

/** Quote argv the way a shell user would read it back. */
export function formatArgv(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(' ');
}

export type EngineErrorKind = 'not-found' | 'not-running' | 'already-exists' | 'usage' | 'agent' | 'image-missing' | 'timeout' | 'unknown';

/**
 * The one error type for a failed engine command: argv, exit code and stderr, classified.
 * Message: `reason: argv` then stderr (execa's shape). Engines subclass it only for its name.
 */
export class EngineCommandError extends ClaudeBottleError {
  override name = 'EngineCommandError';
  readonly kind: EngineErrorKind;
  readonly argv: readonly string[];
  readonly exitCode: number;
  readonly stderr: string;
  readonly stdout: string;
  readonly reason: string;
  readonly timedOut: boolean;

  constructor(
    fields: {
      kind: EngineErrorKind;
      reason: string;
      argv: readonly string[];
      exitCode: number;
      stderr: string;
      stdout?: string;
      timedOut?: boolean;
    },
    options?: { cause?: unknown },
  ) {
    const stderr = fields.stderr.trim();
    super(`${fields.reason}: ${formatArgv(fields.argv)}${stderr ? `\n${stderr}` : ''}`, options);
    this.kind = fields.kind;
    this.reason = fields.reason;
    this.argv = fields.argv;
    this.exitCode = fields.exitCode;
    this.stderr = fields.stderr;
    this.stdout = fields.stdout ?? '';
    this.timedOut = fields.timedOut ?? false;
  }
}
