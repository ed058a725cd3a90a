import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { request, type IncomingMessage } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { BundleError, startBundle, type Bundle } from '../../bundle/bundle.ts';
import { findPipelock, pipelockDaemon, PipelockMissingError, PipelockStartError, requirePipelock } from './daemon.ts';
import { PipelockConfigSchema } from './schema.ts';

const FAKE_PIPELOCK = fileURLToPath(new URL('../../../fakes/bin/pipelock', import.meta.url));

let work: string;
const cleanups: (() => Promise<unknown>)[] = [];
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'claude-bottle-pipelock-'));
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await rm(work, { recursive: true, force: true });
});

/** An upstream that echoes what it reads, prefixed; stands in for an allowed host. */
async function echoServer(): Promise<number> {
  const server: Server = createServer((s) => s.on('data', (d) => s.write(`echo:${d}`)).on('error', () => undefined));
  await new Promise<void>((r) => server.listen({ host: '127.0.0.1', port: 0 }, r));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        server.close(() => r());
      }),
  );
  const sockets = new Set<Socket>();
  server.on('connection', (s) => sockets.add(s));
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
  });
  return (server.address() as { port: number }).port;
}

/** CONNECT through the proxy: the status, and what the tunnel echoes back for `ping`. */
function connectThrough(proxyPort: number, target: string): Promise<{ status: number; echoed?: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: proxyPort, method: 'CONNECT', path: target, timeout: 5000, agent: false });
    req.on('connect', (res: IncomingMessage, socket: Socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        return resolve({ status: res.statusCode ?? 0 });
      }
      socket.once('data', (d) => {
        socket.destroy();
        resolve({ status: 200, echoed: d.toString() });
      });
      socket.write('ping');
    });
    req.on('response', (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0 });
    });
    req.on('timeout', () => req.destroy(new Error('CONNECT timed out')));
    req.on('error', reject);
    req.end();
  });
}

async function bundleWith(spec: ReturnType<typeof pipelockDaemon>): Promise<Bundle> {
  const bundle = await startBundle([spec], { host: '127.0.0.1' });
  cleanups.push(() => bundle.stop());
  return bundle;
}

describe('findPipelock', () => {
  it('PIPELOCK_BIN (a path or a name on PATH), else pipelock on PATH; undefined when missing', async () => {
    const bin = join(work, 'bin');
    await (await import('node:fs/promises')).mkdir(bin);
    await writeFile(join(bin, 'pipelock'), '#!/bin/sh\n', { mode: 0o755 });
    await writeFile(join(bin, 'not-exec'), '#!/bin/sh\n', { mode: 0o644 });
    expect(findPipelock({ PATH: `/nonexistent:${bin}` })).toBe(join(bin, 'pipelock'));
    expect(findPipelock({ PATH: '/nonexistent' })).toBeUndefined();
    expect(findPipelock({ PATH: '', PIPELOCK_BIN: FAKE_PIPELOCK })).toBe(FAKE_PIPELOCK);
    expect(findPipelock({ PATH: bin, PIPELOCK_BIN: 'pipelock' })).toBe(join(bin, 'pipelock'));
    expect(findPipelock({ PATH: bin, PIPELOCK_BIN: join(bin, 'not-exec') })).toBeUndefined();
    expect(findPipelock({ PATH: bin, PIPELOCK_BIN: join(bin, 'absent') })).toBeUndefined();
  });

  it('a missing binary is a PipelockMissingError naming it and how to install it or set PIPELOCK_BIN', () => {
    expect(() => requirePipelock({ PATH: '/nonexistent' })).toThrow(PipelockMissingError);
    expect(() => requirePipelock({ PATH: '/nonexistent' })).toThrow(
      /`pipelock` is not on PATH: install it \(go install github.com\/luckyPipewrench\/pipelock.*set PIPELOCK_BIN/,
    );
    expect(() => pipelockDaemon({ allowHosts: ['a.com'] }, { configDir: work, env: { PATH: '', PIPELOCK_BIN: '/opt/none/pipelock' } })).toThrow(
      /PIPELOCK_BIN=\/opt\/none\/pipelock is not an executable file/,
    );
  });
});

describe('pipelockDaemon (on the fake pipelock)', () => {
  it('writes the config 0600, runs `pipelock run --config`, and proxies only the allowed hosts', async () => {
    const upstream = await echoServer();
    const spec = pipelockDaemon({ allowHosts: ['localhost'], allowCidrs: ['127.0.0.0/8'] }, { bin: FAKE_PIPELOCK, configDir: join(work, 'state') });
    const bundle = await bundleWith(spec);
    const daemon = bundle.get('pipelock')!;
    expect(daemon.url).toBe(`http://127.0.0.1:${daemon.port}`);

    expect((await stat(spec.configPath)).mode & 0o777).toBe(0o600);
    const config = PipelockConfigSchema.parse(parse(await readFile(spec.configPath, 'utf8')));
    expect(config).toMatchObject({ mode: 'strict', api_allowlist: ['localhost'], fetch_proxy: { listen: `127.0.0.1:${daemon.port}` } });

    expect(await connectThrough(daemon.port, `localhost:${upstream}`)).toEqual({ status: 200, echoed: 'echo:ping' });
    expect(await connectThrough(daemon.port, `example.com:443`)).toEqual({ status: 403 });
    // 127.0.0.1 itself is not an allowed host name: strict mode refuses it before any connection.
    expect((await connectThrough(daemon.port, `127.0.0.1:${upstream}`)).status).toBe(403);

    await bundle.stop();
    await expect(connectThrough(daemon.port, `localhost:${upstream}`)).rejects.toThrow(/ECONNREFUSED/);
  });

  it('without the CIDR exemption, an allowed host resolving to loopback is refused by the SSRF check', async () => {
    const upstream = await echoServer();
    const bundle = await bundleWith(pipelockDaemon({ allowHosts: ['localhost'] }, { bin: FAKE_PIPELOCK, configDir: work }));
    expect(await connectThrough(bundle.daemons[0]!.port, `localhost:${upstream}`)).toEqual({ status: 403 });
  });

  it('a binary that exits before listening is a BundleError (pipelock) carrying its stderr; a binary that cannot run is PipelockMissingError', async () => {
    const failing = join(work, 'pipelock-fails');
    await writeFile(failing, '#!/bin/sh\necho "Error: parsing config $3: field nope not found" >&2\nexit 1\n');
    await chmod(failing, 0o755);
    const error = await startBundle([pipelockDaemon({ allowHosts: ['a.com'] }, { bin: failing, configDir: work })], { host: '127.0.0.1' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BundleError);
    expect(error).toMatchObject({ daemon: 'pipelock', cause: expect.any(PipelockStartError) });
    expect((error as Error).message).toMatch(/pipelock exited \(1\) before listening[\s\S]*field nope not found/);

    const notExecutable = join(work, 'pipelock-noexec');
    await writeFile(notExecutable, '');
    const missing = await startBundle([pipelockDaemon({ allowHosts: ['a.com'] }, { bin: notExecutable, configDir: work })], { host: '127.0.0.1' }).catch(
      (e: unknown) => e,
    );
    expect((missing as BundleError).cause).toBeInstanceOf(PipelockMissingError);
  });

  it('a binary that never listens is killed after the bounded wait', async () => {
    const silent = join(work, 'pipelock-silent');
    await writeFile(silent, '#!/bin/sh\necho $$ > "$(dirname "$0")/pid"\nexec sleep 30\n');
    await chmod(silent, 0o755);
    const started = Date.now();
    const error = await startBundle([pipelockDaemon({ allowHosts: ['a.com'] }, { bin: silent, configDir: work, readyTimeoutMs: 400, stopTimeoutMs: 1000 })], {
      host: '127.0.0.1',
    }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(5000);
    expect((error as Error).message).toMatch(/did not listen on 127\.0\.0\.1:\d+ within 400 ms/);
    const pid = Number(await readFile(join(work, 'pid'), 'utf8'));
    expect(() => process.kill(pid, 0)).toThrow();
  });
});
