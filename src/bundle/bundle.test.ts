import { execFile } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import { BundleError, daemonsCsv, startBundle, type Bundle } from './bundle.ts';
import { freePort, guestProbe, type DaemonSpec } from '../daemon/daemon.ts';

const run = promisify(execFile);
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A daemon that is a bare TCP listener; `log` records starts and stops. */
function tcpDaemon(name: string, log: string[], fail?: Error): DaemonSpec {
  return {
    name,
    async start(host, port) {
      if (fail) throw fail;
      const server: Server = createServer((s) => s.resume().end()); // resume: read to EOF, or the socket never closes
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host, port, exclusive: true }, resolve);
      });
      log.push(`start ${name}`);
      cleanups.push(() => new Promise((r) => server.close(() => r())));
      return {
        url: `tcp://${host}:${port}`,
        stop: async () => {
          log.push(`stop ${name}`);
          await new Promise<void>((r) => server.close(() => r()));
        },
      };
    },
  };
}

async function bundle(specs: DaemonSpec[]): Promise<Bundle> {
  const b = await startBundle(specs, { host: '127.0.0.1' });
  cleanups.push(() => b.stop());
  return b;
}

describe('startBundle', () => {
  it('starts in order on distinct free ports of the given host; stop reverses and is idempotent', async () => {
    const log: string[] = [];
    const b = await bundle([tcpDaemon('pipelock', log), tcpDaemon('supervise', log)]);
    expect(b.daemons.map((d) => [d.name, d.host])).toEqual([
      ['pipelock', '127.0.0.1'],
      ['supervise', '127.0.0.1'],
    ]);
    expect(new Set(b.daemons.map((d) => d.port)).size).toBe(2);
    expect(b.get('supervise')?.url).toBe(`tcp://127.0.0.1:${b.get('supervise')?.port}`);
    expect(b.csv).toBe('pipelock,supervise');
    await Promise.all([b.stop(), b.stop()]);
    await b.stop();
    expect(log).toEqual(['start pipelock', 'start supervise', 'stop supervise', 'stop pipelock']);
  });

  it('two bundles side by side never share a port', async () => {
    const log: string[] = [];
    const [a, b] = await Promise.all([bundle([tcpDaemon('supervise', log)]), bundle([tcpDaemon('supervise', log)])]);
    expect(a.daemons[0]?.port).not.toBe(b.daemons[0]?.port);
  });

  it('a failing daemon stops the ones already started and throws a BundleError naming it', async () => {
    const log: string[] = [];
    const error = await startBundle([tcpDaemon('pipelock', log), tcpDaemon('git-gate', log, new Error('no repo')), tcpDaemon('supervise', log)], {
      host: '127.0.0.1',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BundleError);
    expect(error).toMatchObject({ daemon: 'git-gate', phase: 'start', stopErrors: [] });
    expect((error as Error).message).toMatch(/daemon "git-gate" failed to start: no repo/);
    expect(log).toEqual(['start pipelock', 'stop pipelock']);
  });

  it('a port taken before the daemon binds it is retried once', async () => {
    let calls = 0;
    const flaky: DaemonSpec = {
      name: 'supervise',
      async start(host, port) {
        calls++;
        if (calls === 1) throw Object.assign(new Error(`listen EADDRINUSE: address already in use ${host}:${port}`), { code: 'EADDRINUSE' });
        return { url: `x://${host}:${port}`, stop: async () => undefined };
      },
    };
    const b = await bundle([flaky]);
    expect([calls, b.daemons.length]).toEqual([2, 1]);
  });

  it('refuses wildcard addresses and duplicate daemons; an unbindable host is a BundleError at the port phase', async () => {
    await expect(startBundle([], { host: '0.0.0.0' })).rejects.toThrow(ConfigError);
    await expect(startBundle([], { host: '::' })).rejects.toThrow(/wildcard/);
    const log: string[] = [];
    await expect(startBundle([tcpDaemon('a', log), tcpDaemon('a', log)], { host: '127.0.0.1' })).rejects.toThrow(/listed twice/);
    // 192.0.2.0/24 is TEST-NET-1: never an address of this host.
    await expect(startBundle([tcpDaemon('supervise', log)], { host: '192.0.2.1' })).rejects.toMatchObject({
      name: 'BundleError',
      daemon: 'supervise',
      phase: 'port',
    });
    expect(log).toEqual([]);
  });
});

describe('daemonsCsv, freePort', () => {
  it('daemonsCsv is sorted, unique, never empty for a planned daemon', () => {
    expect(daemonsCsv(['supervise', 'pipelock', 'supervise'])).toBe('pipelock,supervise');
    expect(daemonsCsv(['git-gate'])).toBe('git-gate');
    expect(daemonsCsv([])).toBe('');
    expect(() => daemonsCsv(['a,b'])).toThrow(ConfigError);
  });

  it('freePort returns a bindable port on the host', async () => {
    const port = await freePort('127.0.0.1');
    const server = createServer();
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen({ host: '127.0.0.1', port }, resolve));
    await new Promise((r) => server.close(r));
  });
});

/**
 * A daemon that answers HTTP, as the bundle's daemons do: the probe's first tool that is
 * installed (nc, curl, wget, …) gets its answer at once, instead of waiting out a timeout on a
 * listener that never speaks HTTP.
 */
function httpDaemon(name: string): DaemonSpec {
  return {
    name,
    async start(host, port) {
      const server = createHttpServer((_req, res) => res.writeHead(200, { Connection: 'close' }).end('ok\n'));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host, port, exclusive: true }, resolve);
      });
      const stop = () => new Promise<void>((r) => server.close(() => r()).closeAllConnections());
      cleanups.push(stop);
      return { url: `http://${host}:${port}`, stop };
    },
  };
}

describe('guestProbe (run here by a real sh)', () => {
  it('exits 0 naming the tool while the daemon listens, 1 once it is gone; values stay out of the script', async () => {
    const b = await bundle([httpDaemon('supervise')]);
    const daemon = b.daemons[0]!;
    const argv = guestProbe(daemon, '127.0.0.1');
    expect(argv.slice(0, 2)).toEqual(['sh', '-c']);
    expect(argv.slice(3)).toEqual(['probe', '127.0.0.1', String(daemon.port), 'supervise', '/health']);
    expect(argv[2]).not.toContain(String(daemon.port));
    const up = await run(argv[0]!, argv.slice(1), { timeout: 20_000 });
    expect(up.stdout).toMatch(/^reachable via \w+/);
    await b.stop();
    const down = await run(argv[0]!, argv.slice(1), { timeout: 20_000 }).catch((e: { code: number; stderr: string }) => e);
    expect(down).toMatchObject({ code: 1, stderr: expect.stringContaining(`supervise: cannot reach 127.0.0.1:${daemon.port}`) });
  });
});
