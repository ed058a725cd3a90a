/**
 * The fake as a `smolvm` executable (`fakes/bin/smolvm`): load state, run one command, save,
 * all under an exclusive lock on the state directory, so parallel invocations serialise.
 *
 * The lock is held for the whole command, guest `sleep` included: releasing it mid-exec would
 * need merging two writers' guest filesystems. A killed invocation (SIGTERM/SIGINT) releases the
 * lock and saves nothing; one killed with SIGKILL leaves a lock the next caller takes over.
 *
 * Environment:
 * - `FAKE_SMOLVM_STATE`: state directory (default `$TMPDIR/fake-smolvm-<uid>`).
 * - `FAKE_SMOLVM_DNS=host`: resolve `--allow-host` names with the host's DNS (default: the
 *   hermetic `fakeResolver`, so no lookup leaves the machine).
 * - `FAKE_SMOLVM_COMMANDS`: path of a module whose default export is `Record<string, handler>`
 *   (guest commands, as for `registerCommand`) and whose optional `images` export is
 *   `Record<string, FakeImage>`.
 */
import { randomBytes } from 'node:crypto';
import { promises as nodeFs } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runSmolvm } from './dispatch.ts';
import { systemResolver } from './dns.ts';
import { Sink, toBytes, type GuestCommandHandler } from './guest/process.ts';
import type { HostFs } from './host-fs.ts';
import type { FakeImage } from './images.ts';
import { lockStateDir } from './lock.ts';
import { SmolvmModel, type StdinSource } from './model.ts';
import { readState, saveState } from './persistent.ts';

/** Writes straight through, so prompts and progress appear when smolvm prints them. */
class StreamSink extends Sink {
  readonly #stream: NodeJS.WriteStream;
  constructor(stream: NodeJS.WriteStream) {
    super(0);
    this.#stream = stream;
  }
  override write(data: string | Uint8Array): void {
    super.write(data);
    this.#stream.write(toBytes(data));
  }
}

export async function main(args: readonly string[] = process.argv.slice(2)): Promise<never> {
  const dir = process.env.FAKE_SMOLVM_STATE || join(tmpdir(), `fake-smolvm-${process.getuid?.() ?? 'user'}`);
  await mkdir(dir, { recursive: true });
  const extension = await loadExtension(process.env.FAKE_SMOLVM_COMMANDS);

  const lock = await lockStateDir(dir);
  const onSignal = (signal: NodeJS.Signals): void => {
    lock.releaseSync();
    process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGHUP' ? 1 : 15));
  };
  for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(s, onSignal);
  let code: number;
  try {
    const model = new SmolvmModel({
      hostFs: nodeFs as HostFs,
      version: '1.9.2',
      generateShortId: () => randomBytes(4).toString('hex'),
      clock: Date.now,
      state: await readState(dir),
      ...(process.env.FAKE_SMOLVM_DNS === 'host' ? { resolveHost: systemResolver } : {}),
    });
    for (const [name, handler] of Object.entries(extension.commands)) model.userland.register(name, handler);
    for (const [ref, image] of Object.entries(extension.images)) model.images.register(ref, image);
    code = await runSmolvm(model, args, {
      env: Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined)),
      stdin: processStdin(),
      stdout: new StreamSink(process.stdout),
      stderr: new StreamSink(process.stderr),
      signal: new AbortController().signal,
    });
    await saveState(dir, model.export());
  } catch (error) {
    process.stderr.write(`fake smolvm: internal error: ${(error as Error).stack ?? String(error)}\n`);
    code = 70;
  } finally {
    await lock.release();
    for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.off(s, onSignal);
  }
  await new Promise((r) => process.stdout.write('', r));
  await new Promise((r) => process.stderr.write('', r));
  process.exit(code);
}

async function loadExtension(path: string | undefined): Promise<{ commands: Record<string, GuestCommandHandler>; images: Record<string, FakeImage> }> {
  if (!path) return { commands: {}, images: {} };
  const module = (await import(pathToFileURL(resolve(path)).href)) as {
    default?: Record<string, GuestCommandHandler>;
    images?: Record<string, FakeImage>;
  };
  return { commands: module.default ?? {}, images: module.images ?? {} };
}

/** Reads the real stdin only when smolvm asks (exec -i, the delete prompt). */
function processStdin(): StdinSource {
  let buffered = new Uint8Array();
  let chunks: AsyncIterator<Uint8Array> | undefined;
  let ended = false;
  const more = async (): Promise<boolean> => {
    if (ended) return false;
    chunks ??= (process.stdin as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
    const next = await chunks.next();
    if (next.done) {
      ended = true;
      return false;
    }
    const joined = new Uint8Array(buffered.length + next.value.length);
    joined.set(buffered);
    joined.set(next.value, buffered.length);
    buffered = joined;
    return true;
  };
  return {
    all: async () => {
      while (await more());
      const data = buffered;
      buffered = new Uint8Array();
      return data;
    },
    line: async () => {
      while (buffered.indexOf(10) === -1 && (await more()));
      if (buffered.length === 0) return null;
      const nl = buffered.indexOf(10);
      const line = buffered.subarray(0, nl === -1 ? buffered.length : nl);
      buffered = nl === -1 ? new Uint8Array() : buffered.subarray(nl + 1);
      return new TextDecoder().decode(line);
    },
  };
}
