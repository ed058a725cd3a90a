/**
 * A launcher process proves it is alive by listening on a Unix socket: a connection succeeds
 * exactly while it runs (the kernel refuses it once the process is gone, however it died, and a
 * reused pid proves nothing). The same socket takes one command, so `rm` can ask a foreground
 * launch to take its bottles down itself: `stop` (all of them) or `stop <name>` (one; the answer
 * comes once it is removed, and the launcher goes on serving the others).
 */
import { once } from 'node:events';
import { mkdir, rm } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { basename, dirname, join } from 'node:path';

/** Unix socket paths are limited to ~104-108 bytes; past that, liveness falls back to the pid. */
const MAX_SOCKET_PATH = 100;

export interface LauncherRef {
  readonly pid: number;
  /** Absent when the state dir's path is too long for a socket. */
  readonly socket?: string;
}

export interface HeldLauncher {
  readonly ref: LauncherRef;
  /** Resolves when another process asked this launcher to stop (`rm`). */
  readonly stopRequested: Promise<void>;
  /** Handles `stop <name>`: the request is answered once the returned promise settles. */
  onStopOne(handler: (name: string) => Promise<void>): void;
  close(): Promise<void>;
}

export function launcherSocketPath(stateRoot: string, launchId: string): string {
  return join(stateRoot, 'run', `${launchId}.sock`);
}

/** Whether `path` is where a launcher under `stateRoot` puts its socket. */
export function isLauncherSocket(stateRoot: string, path: string): boolean {
  return dirname(path) === join(stateRoot, 'run') && /^[a-z0-9]{8,40}\.sock$/.test(basename(path));
}

/** Listens on the launch's socket until `close()`; the process exiting closes it too. */
export async function holdLauncher(stateRoot: string, launchId: string): Promise<HeldLauncher> {
  const path = launcherSocketPath(stateRoot, launchId);
  if (path.length > MAX_SOCKET_PATH) {
    return { ref: { pid: process.pid }, stopRequested: new Promise(() => undefined), onStopOne: () => undefined, close: async () => {} };
  }
  await mkdir(join(stateRoot, 'run'), { recursive: true, mode: 0o700 });
  let requestStop: () => void = () => undefined;
  const stopRequested = new Promise<void>((resolve) => (requestStop = resolve));
  let stopOne: ((name: string) => Promise<void>) | undefined;
  const server: Server = createServer((socket) => {
    socket.setEncoding('utf8');
    // Long enough for a `stop <name>` that removes a bottle before it answers.
    socket.setTimeout(120_000, () => socket.destroy());
    let line = '';
    socket.on('data', (chunk: string) => {
      line = (line + chunk).slice(0, 64);
      if (!line.includes('\n')) return;
      const [verb, name, extra] = line.trim().split(/\s+/);
      if (verb === 'stop' && name === undefined) {
        socket.end('stopping\n');
        requestStop();
      } else if (verb === 'stop' && name !== undefined && extra === undefined && stopOne) {
        stopOne(name).then(
          () => socket.end('stopped\n'),
          (error: unknown) => socket.end(`failed: ${String(error).split('\n')[0]}\n`),
        );
      } else socket.end('unknown command\n');
    });
    socket.on('error', () => undefined);
  });
  server.listen(path);
  await once(server, 'listening');
  // Keep the socket from holding the event loop open by itself.
  server.unref();
  let closed: Promise<void> | undefined;
  return {
    ref: { pid: process.pid, socket: path },
    stopRequested,
    onStopOne: (handler) => {
      stopOne = handler;
    },
    close: () =>
      (closed ??= (async () => {
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await rm(path, { force: true });
      })()),
  };
}

/** Whether the launcher still runs: its socket accepts, or (without one) its pid exists. */
export async function launcherAlive(ref: LauncherRef): Promise<boolean> {
  if (ref.socket === undefined) return pidAlive(ref.pid);
  return new Promise((resolve) => {
    const socket = connect(ref.socket as string);
    const done = (alive: boolean): void => {
      socket.destroy();
      resolve(alive);
    };
    socket.setTimeout(2000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Asks a live launcher to take its bottles down (or, with `name`, that one bottle); resolves once
 * it has exited (or removed that bottle), or after `timeoutMs`.
 */
export async function askLauncherToStop(ref: LauncherRef, timeoutMs = 60_000, name?: string): Promise<boolean> {
  if (name !== undefined && ref.socket !== undefined) {
    const answer = await new Promise<string | undefined>((resolve) => {
      let text = '';
      const socket = connect(ref.socket as string, () => socket.write(`stop ${name}\n`));
      socket.setEncoding('utf8');
      socket.setTimeout(timeoutMs, () => socket.destroy());
      socket.on('data', (chunk: string) => (text += chunk));
      socket.once('close', () => resolve(text));
      socket.once('error', () => resolve(undefined));
    });
    // A launcher that serves only that bottle exits after removing it; either way it is gone.
    return answer === undefined || answer.startsWith('stopped') || !(await launcherAlive(ref));
  }
  if (ref.socket === undefined) {
    if (!pidAlive(ref.pid)) return true;
    process.kill(ref.pid, 'SIGTERM');
  } else {
    const sent = await new Promise<boolean>((resolve) => {
      const socket = connect(ref.socket as string, () => socket.end('stop\n'));
      // Read the answer, so the launcher's end (and then close) arrives.
      socket.resume();
      socket.once('close', () => resolve(true));
      socket.once('error', () => resolve(false));
    });
    if (!sent) return true;
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!(await launcherAlive(ref))) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
