/** A throwaway CA and a server certificate it signed, made with the host's `openssl` in a temp dir. */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { selfSignedCa } from '../../src/testing/doubles.ts';

const run = promisify(execFile);

export interface TestPki {
  /** Host path of the CA certificate (PEM). */
  readonly caFile: string;
  readonly caPem: string;
  readonly serverKey: string;
  readonly serverCert: string;
}

/** `ip`: the address the server certificate is valid for (its subjectAltName). */
export async function makeTestPki(dir: string, ip: string, label: string): Promise<TestPki> {
  const p = (name: string) => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await selfSignedCa(dir, `claude-bottle test CA ${label}`);
  await run('openssl', ['req', ...ec, '-keyout', p('server.key'), '-out', p('server.csr'), '-subj', `/CN=${ip}`]);
  await writeFile(
    p('server.ext'),
    `subjectAltName=IP:${ip},DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n`,
  );
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    p('server.csr'),
    '-CA',
    p('ca.crt'),
    '-CAkey',
    p('ca.key'),
    '-CAcreateserial',
    '-out',
    p('server.crt'),
    '-days',
    '2',
    '-extfile',
    p('server.ext'),
  ]);
  const [caPem, serverKey, serverCert] = await Promise.all([
    readFile(p('ca.crt'), 'utf8'),
    readFile(p('server.key'), 'utf8'),
    readFile(p('server.crt'), 'utf8'),
  ]);
  return { caFile: p('ca.crt'), caPem, serverKey, serverCert };
}
