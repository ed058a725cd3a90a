/**
 * busybox `nc` over the fake's guest network. The fake only ever dials the host's own loopback:
 * under TSI (`--net`) the guest's 127.0.0.1 is the host's; under virtio-net the host answers as
 * `host.smolvm.internal` / 100.96.0.1 and relays to its 127.0.0.1. Any other destination is
 * refused here, so no test can send traffic off the machine through the fake.
 */
import { connect } from 'node:net';
import type { GuestProgram } from './process.ts';

const HOST_ALIASES: Readonly<Record<'tsi' | 'virtio-net', ReadonlySet<string>>> = {
  tsi: new Set(['127.0.0.1', 'localhost']),
  'virtio-net': new Set(['host.smolvm.internal', '100.96.0.1']),
};

export const nc: GuestProgram = async (p) => {
  let zeroIo = false;
  let waitS = 5;
  const operands: string[] = [];
  const args = p.argv.slice(1);
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '-z') zeroIo = true;
    else if (a === '-w') waitS = Number(args[++i]);
    else if (/^-w\d+$/.test(a)) waitS = Number(a.slice(2));
    else if (a.startsWith('-') && a !== '-') {
      p.stderr.write(`nc: unrecognized option '${a}'\n`);
      return 1;
    } else operands.push(a);
  }
  const [host, portText] = operands;
  const port = Number(portText);
  if (host === undefined || !Number.isInteger(port) || port < 1 || port > 65535 || !Number.isFinite(waitS)) {
    p.stderr.write('BusyBox v1.36.1 multi-call binary.\n\nUsage: nc [OPTIONS] HOST PORT\n');
    return 1;
  }
  if (p.network === 'none') {
    p.stderr.write(`nc: can't connect to remote host (${host}): Network unreachable\n`);
    return 1;
  }
  if (!HOST_ALIASES[p.network].has(host)) {
    p.stderr.write(`nc: bad address '${host}'\n`);
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
};
