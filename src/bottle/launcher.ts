/**
 * A launcher process proves it is alive by listening on a Unix socket: a connection succeeds
 * exactly while it runs (the kernel refuses it once the process is gone, however it died, and a
 * reused pid proves nothing). The same socket takes one command, `stop`, so `rm` can ask a
 * foreground launch to take its bottle down itself.
 */
import { once } from 'node:events';
import { mkdir, rm } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';

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
  close(): Promise<void>;
}

export function launcherSocketPath(stateRoot: string, launchId: string): string {
  return join(stateRoot, 'run', `${launchId}.sock`);
}

/** Listens on the launch's socket until `close()`; the process exiting closes it too. */
export async function holdLauncher(stateRoot: string, launchId: string): Promise<HeldLauncher> {
  const path = launcherSocketPath(stateRoot, launchId);
  if (path.length > MAX_SOCKET_PATH) {
    return { ref: { pid: process.pid }, stopRequested: new Promise(() => undefined), close: async () => {} };
  }
  await mkdir(join(stateRoot, 'run'), { recursive: true, mode: 0o700 });
  let requestStop: () => void = () => undefined;
  const stopRequested = new Promise<void>((resolve) => (requestStop = resolve));
  const server: Server = createServer((socket) => {
    socket.setEncoding('utf8');
    socket.setTimeout(5000, () => socket.destroy());
    let line = '';
    socket.on('data', (chunk: string) => {
      line = (line + chunk).slice(0, 64);
      if (!line.includes('\n')) return;
      if (line.trim() === 'stop') {
        socket.end('stopping\n');
        requestStop();
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

/** Asks a live launcher to take its bottle down; resolves once it has exited (or after `timeoutMs`). */
export async function askLauncherToStop(ref: LauncherRef, timeoutMs = 60_000): Promise<boolean> {
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
