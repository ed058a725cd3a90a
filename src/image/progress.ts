/**
 * How an image build runs its steps: each one timed, reported as it starts, every `heartbeatMs`
 * while it lasts and when it ends; every command through the transport, a failure stopping the
 * build with the step, the argv and the end of its output.
 */
import { ClaudeBottleError, formatArgv } from '../errors.ts';
import type { CommandResult, RunOptions, Transport } from '../transport/types.ts';

export type ImageBuildStep = 'check' | 'fetch' | 'rootfs' | 'base' | 'load' | 'layer' | 'commit';

export interface ImageBuildProgress {
  readonly step: ImageBuildStep;
  readonly message: string;
  /** Since the build started. */
  readonly elapsedMs: number;
}

export interface ImageBuildStepReport {
  readonly step: ImageBuildStep;
  readonly durationMs: number;
  /** True when the step's output was already there. */
  readonly cached: boolean;
}

export class ImageBuildError extends ClaudeBottleError {
  override name = 'ImageBuildError';
  readonly step: ImageBuildStep;
  readonly result: CommandResult | undefined;
  constructor(step: ImageBuildStep, message: string, result?: CommandResult, options?: { cause?: unknown }) {
    const detail = result ? `: ${formatArgv(result.argv)} (exit ${result.exitCode})${tail(result.stderr || result.stdout)}` : '';
    super(`image build failed at ${step}: ${message}${detail}`, options);
    this.step = step;
    this.result = result;
  }
}

export class BuildRun {
  readonly steps: ImageBuildStepReport[] = [];
  readonly started = performance.now();
  readonly transport: Transport;
  readonly #onProgress: ((progress: ImageBuildProgress) => void) | undefined;
  readonly #heartbeatMs: number;

  constructor(transport: Transport, options: { onProgress?: (progress: ImageBuildProgress) => void; heartbeatMs?: number }) {
    this.transport = transport;
    this.#onProgress = options.onProgress;
    this.#heartbeatMs = options.heartbeatMs ?? 10_000;
  }

  report(step: ImageBuildStep, message: string): void {
    this.#onProgress?.({ step, message, elapsedMs: performance.now() - this.started });
  }

  /** Records a step that had nothing to do. */
  skipped(step: ImageBuildStep, message: string): void {
    this.steps.push({ step, durationMs: 0, cached: true });
    this.report(step, message);
  }

  /** Runs one step, reporting every `heartbeatMs` while it lasts. */
  async timed<T>(step: ImageBuildStep, message: string, fn: () => Promise<{ value: T; cached: boolean }>): Promise<T> {
    const stepStart = performance.now();
    this.report(step, message);
    const heartbeat = setInterval(
      () => this.report(step, `${message} (still running, ${Math.round((performance.now() - stepStart) / 1000)}s)`),
      this.#heartbeatMs,
    );
    try {
      const { value, cached } = await fn();
      const durationMs = performance.now() - stepStart;
      this.steps.push({ step, durationMs, cached });
      this.report(step, `${message}: ${cached ? 'cached' : 'done'} in ${(durationMs / 1000).toFixed(1)}s`);
      return value;
    } finally {
      clearInterval(heartbeat);
    }
  }

  /** Runs a command that must succeed. */
  async must(step: ImageBuildStep, argv: readonly string[], what: string, options?: RunOptions): Promise<CommandResult> {
    const result = await this.transport.run(argv, options);
    if (result.exitCode !== 0) throw new ImageBuildError(step, what, result);
    return result;
  }

  get elapsedMs(): number {
    return performance.now() - this.started;
  }
}

function tail(text: string): string {
  const lines = text.trim().split('\n').filter(Boolean).slice(-15);
  return lines.length ? `\n${lines.join('\n')}` : '';
}
