/**
 * The engine contract's cases for what an engine offers beyond the core verbs (its
 * `capabilities`): an archive extracted in one call, and a host route a guest reaches host
 * daemons through. The suite runs each only where the engine declares it.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { packTar } from '../archive/tar.ts';
import { guestProbe } from '../daemon/daemon.ts';
import { type Engine, LAUNCH_LABEL, type MachineConfig, type NetworkPolicy } from '../engine/types.ts';
import { expect } from './vitest.ts';

export async function uploadTreeCase(engine: Engine, machine: string, run: string, sh: (machine: string, script: string) => Promise<string>): Promise<void> {
  const dir = `tmp/cb-${run}-tree`;
  await sh(machine, `mkdir -p /${dir} && chmod 0711 /${dir}`);
  const text = (s: string) => new TextEncoder().encode(s);
  await method(engine, 'uploadTree')(
    machine,
    packTar([
      { path: `${dir}/sub`, type: 'directory', mode: 0o750, uid: 1000, gid: 1000 },
      { path: `${dir}/sub/run.sh`, type: 'file', mode: 0o755, uid: 1000, gid: 1000, data: text('#!/bin/sh\necho tree\n') },
      { path: `${dir}/secret`, type: 'file', mode: 0o600, uid: 0, gid: 0, data: text('root only\n') },
    ]),
  );
  // The existing directory keeps its mode and owner: the archive has no entry for it.
  expect(await sh(machine, `stat -c '%n %a %u %g' /${dir} /${dir}/sub /${dir}/sub/run.sh /${dir}/secret`)).toBe(
    `/${dir} 711 0 0\n/${dir}/sub 750 1000 1000\n/${dir}/sub/run.sh 755 1000 1000\n/${dir}/secret 600 0 0\n`,
  );
  expect((await engine.exec(machine, [`/${dir}/sub/run.sh`])).stdout).toBe('tree\n');
}

/** A route for `machine`, a server on its bindHost, the machine on it probing guestHost; then its network removed. */
export async function hostRouteCase(
  engine: Engine,
  machine: string,
  run: string,
  runLabels: Readonly<Record<string, string>>,
  config: (network: NetworkPolicy) => MachineConfig,
): Promise<void> {
  const launchId = `${run}${randomBytes(5).toString('hex')}`;
  const route = await method(engine, 'hostRoute')(machine, { egress: false, labels: { ...runLabels, [LAUNCH_LABEL]: launchId } });
  // An HTTP server, as the bundle's daemons are: the probe's wget asks for a health path.
  const server: Server = createServer((_, res) => res.end(`pong ${run}\n`));
  server.on('clientError', (_, socket) => socket.destroy());
  try {
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, route.bindHost, () => resolve((server.address() as { port: number }).port));
    });
    await engine.create(
      config({ enabled: false, allowHosts: [], allowCidrs: [], hostOnly: true, ...(route.network !== undefined ? { attach: route.network } : {}) }),
    );
    await engine.start(machine);
    if (route.allow) {
      // A route that isolates its guest answers only on the ports it was told to open.
      const closed = await engine.exec(machine, guestProbe({ name: 'contract', port }, route.guestHost), { timeoutMs: 30_000 });
      expect(closed.exitCode, `port ${port} answered before allow(): ${closed.stdout}`).not.toBe(0);
      await route.allow([port]);
    }
    const probe = await engine.exec(machine, guestProbe({ name: 'contract', port }, route.guestHost), { timeoutMs: 30_000 });
    expect(probe, probe.stderr).toMatchObject({ exitCode: 0, stdout: expect.stringMatching(/^reachable via \w+/) });
    if (route.network === undefined) return;
    const network = await method(engine, 'networkStatus')(route.network);
    expect(network?.labels).toMatchObject({ ...runLabels, [LAUNCH_LABEL]: launchId });
    expect(network?.machines).toBe(1);
    expect((await method(engine, 'listNetworks')({ [LAUNCH_LABEL]: launchId })).map((n) => n.name)).toEqual([network?.name]);
    await engine.remove(machine);
    await method(engine, 'removeNetwork')(network?.id ?? route.network);
    expect(await method(engine, 'networkStatus')(route.network)).toBeUndefined();
    await method(engine, 'removeNetwork')(route.network);
    // What the route set up beside its network (a firewall chain) went with it.
    expect((await engine.listRouteLeftovers?.())?.map((l) => l.launchId) ?? []).not.toContain(launchId);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
  }
}

/** An optional Engine method, bound to its engine (adapters keep private state); a failure when it is missing. */
function method<K extends 'uploadTree' | 'hostRoute' | 'networkStatus' | 'listNetworks' | 'removeNetwork'>(engine: Engine, key: K): NonNullable<Engine[K]> {
  const fn = engine[key];
  if (typeof fn !== 'function') throw new Error(`engine contract: the ${engine.kind} engine declares what needs ${key}() but has no such method`);
  return (fn as (...args: unknown[]) => unknown).bind(engine) as NonNullable<Engine[K]>;
}
