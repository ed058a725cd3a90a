/** Control flow that unwinds the interpreter: `exit`, `return`, `break`/`continue`. */

/** Unwinds to the shell (or subshell) boundary: `exit`, errexit, a fatal error. */
export class ExitShell extends Error {
  readonly status: number;
  constructor(status: number) {
    super(`exit ${status}`);
    this.status = status;
  }
}
export class ReturnSignal extends Error {
  readonly status: number;
  constructor(status: number) {
    super('return');
    this.status = status;
  }
}
export class LoopSignal extends Error {
  readonly kind: 'break' | 'continue';
  levels: number;
  constructor(kind: 'break' | 'continue', levels: number) {
    super(kind);
    this.kind = kind;
    this.levels = levels;
  }
}
