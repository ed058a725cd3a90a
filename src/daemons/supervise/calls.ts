/**
 * What the agent reported: the supervise server keeps the latest calls in memory (a ring of
 * `maxInMemory`, oldest dropped first) and appends every call to a JSONL file (0600) in the
 * bottle's run dir, up to `maxFileBytes`; past that, calls are counted, not written.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

export type SuperviseTool = 'report_progress' | 'request_review';

export interface SuperviseCall {
  readonly tool: SuperviseTool;
  readonly arguments: Readonly<Record<string, unknown>>;
  readonly at: Date;
}

export const DEFAULT_CALLS_IN_MEMORY = 200;
export const DEFAULT_CALL_LOG_BYTES = 64 * 1024 * 1024;
/** The JSONL file under the bottle's run dir. */
export const CALL_LOG_FILE = 'supervise-calls.jsonl';

export interface CallLogOptions {
  /** Appended to, one JSON object per line; created 0600. */
  readonly file?: string;
  readonly maxInMemory?: number;
  readonly maxFileBytes?: number;
}

export class CallLog {
  /** The latest calls, oldest first; at most `maxInMemory`. */
  readonly recent: SuperviseCall[];
  /** Every call since the server started. */
  total = 0;
  /** Calls not written because the file reached `maxFileBytes`. */
  unwritten = 0;
  readonly file: string | undefined;
  readonly #max: number;
  readonly #maxFileBytes: number;
  #fileBytes = 0;
  #writing: Promise<void> = Promise.resolve();

  constructor(options: CallLogOptions = {}, recent: SuperviseCall[] = []) {
    this.recent = recent;
    this.file = options.file;
    this.#max = Math.max(1, options.maxInMemory ?? DEFAULT_CALLS_IN_MEMORY);
    this.#maxFileBytes = options.maxFileBytes ?? DEFAULT_CALL_LOG_BYTES;
  }

  /** Keeps the call (dropping the oldest over the bound) and queues its line for the file. */
  record(call: SuperviseCall): void {
    this.total++;
    this.recent.push(call);
    if (this.recent.length > this.#max) this.recent.splice(0, this.recent.length - this.#max);
    const file = this.file;
    if (file === undefined) return;
    const line = `${JSON.stringify({ tool: call.tool, arguments: call.arguments, at: call.at.toISOString() })}\n`;
    const bytes = Buffer.byteLength(line);
    if (this.#fileBytes + bytes > this.#maxFileBytes) {
      this.unwritten++;
      return;
    }
    this.#fileBytes += bytes;
    // One append at a time, in call order; a failed write loses that line only.
    this.#writing = this.#writing
      .then(async () => {
        await mkdir(dirname(file), { recursive: true, mode: 0o700 });
        await appendFile(file, line, { mode: 0o600 });
      })
      .catch(() => undefined);
  }

  /** Resolves once every queued line is written. */
  flush(): Promise<void> {
    return this.#writing;
  }
}
