/**
 * busybox `nc` over the fake's guest network. The fake only ever dials the host's own loopback:
 * under TSI (`--net`) the guest's 127.0.0.1 is the host's; under virtio-net the host answers as
 * `host.smolvm.internal` / 100.96.0.1 and relays to its 127.0.0.1. Any other destination is
 * refused here, so no test can send traffic off the machine through the fake.
 */
import { connect } from 'node:net';
import { complain, UsageFailure, type Applet, type AppletProcess } from './applet.ts';
import { getopt } from './getopt.ts';

const HOST_ALIASES: Readonly<Record<'tsi' | 'virtio-net', ReadonlySet<string>>> = {
  tsi: new Set(['127.0.0.1', 'localhost']),
  'virtio-net': new Set(['host.smolvm.internal', '100.96.0.1']),
};

export const nc: Applet = {
  source: 'networking/nc.c',
  usage: '[-iN] [-wN] [-l] [-p PORT] [-f FILE|IPADDR PORT] [-e PROG]',
  summary: 'Open a pipe to IP:PORT or FILE',
  main: (p) => connectTo(p),
};

async function connectTo(p: AppletProcess): Promise<number> {
  // -z only probes; -w bounds the connect and the wait for the peer.
  const o = getopt(p, p.argv.slice(1), { short: 'zw:i:lp:f:e:nuvq:s:', unmodelled: 'ilpfeuqs' });
  const zeroIo = o.has('z');
  const waitS = Number(o.value('w') ?? 5);
  const [host, portText, extra] = o.operands;
  const port = Number(portText);
  if (host === undefined || extra !== undefined || !Number.isInteger(port) || port < 1 || port > 65535 || !Number.isFinite(waitS)) {
    throw new UsageFailure();
  }
  if (p.network === 'none') {
    complain(p, `can't connect to remote host (${host}): Network unreachable`);
    return 1;
  }
  if (!HOST_ALIASES[p.network].has(host)) {
    complain(p, `bad address '${host}'`);
    return 1;
  }
  const input = zeroIo ? new Uint8Array() : p.stdin;
  return new Promise<number>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    const finish = (code: number, message?: string) => {
      socket.destroy();
      if (chunks.length) p.stdout.write(Buffer.concat(chunks));
      if (message) p.stderr.write(message);
      resolve(code);
    };
    const timer = setTimeout(() => finish(zeroIo ? 1 : 0, zeroIo ? `nc: timed out\n` : undefined), Math.max(0, waitS) * 1000);
    p.signal.addEventListener('abort', () => finish(137), { once: true });
    socket.on('connect', () => {
      if (zeroIo) {
        clearTimeout(timer);
        finish(0);
        return;
      }
      socket.end(input);
    });
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => {
      clearTimeout(timer);
      finish(0);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why = error.code === 'ECONNREFUSED' ? 'Connection refused' : (error.code ?? error.message);
      finish(1, `nc: can't connect to remote host (${host}): ${why}\n`);
    });
  });
}
