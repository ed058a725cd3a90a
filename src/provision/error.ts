import { ClaudeBottleError } from '../errors.ts';
import type { ExecResult } from '../engine/types.ts';

/** A provisioning step failed inside the guest: `result` is the guest command's own answer. */
export class ProvisionError extends ClaudeBottleError {
  override name = 'ProvisionError';
  readonly result: ExecResult | undefined;
  constructor(message: string, result?: ExecResult) {
    super(result ? `${message} (exit ${result.exitCode})${result.stderr.trim() ? `\n${result.stderr.trim()}` : ''}` : message);
    this.result = result;
  }
}
