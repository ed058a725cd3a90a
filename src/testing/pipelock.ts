/**
 * The pipelock test double's path, for `PIPELOCK_BIN` or `pipelockDaemon({ bin })` in tests:
 * an executable that takes pipelock's documented `run --config <file>` and `--version`, loads the
 * config strictly (unknown keys are startup errors, as in pipelock) and serves an allow-listing
 * forward proxy plus `/health`. It is no security boundary: it scans nothing.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function fakePipelockBin(): string {
  // From src/testing (a checkout) or dist/src/testing (an installed package) to <root>/fakes/bin.
  for (const relative of ['../../fakes/bin/pipelock', '../../../fakes/bin/pipelock']) {
    const path = fileURLToPath(new URL(relative, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new Error('the fake pipelock (fakes/bin/pipelock) is not in this installation');
}
