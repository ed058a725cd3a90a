// The guest network: TSI's shared loopback, virtio-net's host alias, and no network at all —
// the same two probes integration/smolvm runs against a real VM.
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeSmolvm } from '../index.ts';

let server: Server;
let port = 0;
beforeAll(async () => {
  server = createServer((socket) => {
    socket.on('data', (d) => socket.write(`echo:${d}`));
    socket.on('end', () => socket.end('pong\n'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function machine(name: string, flags: string[]) {
  const fake = createFakeSmolvm();
  expect((await fake.run(['smolvm', 'machine', 'create', '--name', name, ...flags])).exitCode).toBe(0);
  expect((await fake.run(['smolvm', 'machine', 'start', '--name', name])).exitCode).toBe(0);
  return (argv: string[], stdin?: string) =>
    fake.run(['smolvm', 'machine', 'exec', '--name', name, ...(stdin === undefined ? [] : ['-i']), '--', ...argv], stdin === undefined ? {} : { stdin });
}

describe('guest network', () => {
  it('with --net (TSI) the guest reaches a listener on the host loopback', async () => {
    const exec = await machine('tsi', ['--net']);
    expect((await exec(['nc', '-z', '-w', '3', '127.0.0.1', String(port)])).exitCode).toBe(0);
    const talk = await exec(['nc', '-w', '3', '127.0.0.1', String(port)], 'hi');
    expect(talk).toMatchObject({ exitCode: 0, stdout: 'echo:hipong\n' });
    expect((await exec(['nc', '-z', 'host.smolvm.internal', String(port)])).stderr).toBe("nc: bad address 'host.smolvm.internal'\n");
  });

  it('without --net the guest cannot reach it', async () => {
    const exec = await machine('offline', []);
    const result = await exec(['nc', '-z', '-w', '3', '127.0.0.1', String(port)]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('Network unreachable');
  });

  it('with an allow-list (virtio-net) the host answers as host.smolvm.internal, and only the host', async () => {
    const exec = await machine('vnet', ['--allow-host', 'api.anthropic.com']);
    expect((await exec(['nc', '-z', '-w', '3', 'host.smolvm.internal', String(port)])).exitCode).toBe(0);
    expect((await exec(['nc', '-z', '-w', '3', '127.0.0.1', String(port)])).exitCode).toBe(1);
    expect((await exec(['nc', '-z', '-w', '3', 'example.com', '443'])).stderr).toContain('bad address');
  });

  it('a closed port is refused', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const exec = await machine('refused', ['--net']);
    const result = await exec(['sh', '-c', `nc -z -w 2 127.0.0.1 ${closedPort} || echo down`]);
    expect(result.stdout).toBe('down\n');
    expect(result.stderr).toContain('Connection refused');
  });
});
