// egress in the agent spec → plan.egress/proxy (pipelock) → the bundle's pipelock config.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadAgentFile, parseAgentSpec } from '../agent/spec.ts';
import { startBundle } from '../bundle/bundle.ts';
import { bundleFor } from '../bundle/plan.ts';
import { ConfigError } from '../errors.ts';
import { selfSignedCa } from '../testing/doubles.ts';
import { fakePipelockBin } from '../testing/pipelock.ts';
import { prepare } from './prepare.ts';

let work: string;
let env: Record<string, string>;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'claude-bottle-egress-'));
  env = { HOME: join(work, 'home'), CLAUDE_BOTTLE_STATE_DIR: join(work, 'state'), PIPELOCK_BIN: fakePipelockBin(), PATH: process.env.PATH ?? '' };
});
afterEach(() => rm(work, { recursive: true, force: true }));

const ecdsaCa = () => selfSignedCa(work, 'claude-bottle test proxy CA');

const configError = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  ) as Promise<ConfigError>;

describe('egress plans', () => {
  it('plan egress and a pipelock proxy; daemons name it', async () => {
    const plan = await prepare(parseAgentSpec({ name: 'net', egress: { allowHosts: ['api.anthropic.com'], allowCidrs: ['10.1.0.0/16'] } }), { env });
    expect(plan.egress).toEqual({ allowHosts: ['api.anthropic.com'], allowCidrs: ['10.1.0.0/16'] });
    expect(plan.proxy).toMatchObject({ bin: fakePipelockBin(), allowHosts: ['api.anthropic.com'] });
    expect(plan.daemons).toEqual(['pipelock']);
    const smolvmOnly = await prepare(parseAgentSpec({ name: 'net', egress: { allowHosts: ['a.example'], proxy: false } }), { env });
    expect(smolvmOnly.proxy).toBeUndefined();
    expect(smolvmOnly.daemons).toEqual([]);
  });

  it('a proxy without pipelock on this host, or with nothing to allow, fails in prepare naming the field', async () => {
    const missing = await configError(
      prepare(parseAgentSpec({ name: 'net', egress: { allowHosts: ['a.example'] } }), { env: { ...env, PIPELOCK_BIN: join(work, 'no-pipelock') } }),
    );
    expect(missing).toBeInstanceOf(ConfigError);
    expect(missing.message).toMatch(/^egress\.proxy: pipelock is needed .* PIPELOCK_BIN/);
    const empty = await configError(prepare(parseAgentSpec({ name: 'net', egress: {} }), { env }));
    expect(empty.message).toMatch(/^egress\.allowHosts: is empty/);
  });

  it('TLS interception: the CA lands in the plan (installed in the guest), the key stays on the host, pipelock is configured with both', async () => {
    const { cert, key } = await ecdsaCa();
    await writeFile(join(work, 'agent.yaml'), 'name: tls\negress:\n  allowHosts: [api.anthropic.com]\n  tls: { cert: ./ca.crt, key: ./ca.key }\n');
    const plan = await prepare(await loadAgentFile(join(work, 'agent.yaml')), { env });
    expect(plan.ca?.hostPath).toBe(join(work, 'state', 'agents', 'tls', 'ca.crt'));
    expect(await readFile(plan.ca!.hostPath, 'utf8')).toBe(await readFile(cert, 'utf8'));
    expect(plan.proxy?.tls).toEqual({ certPath: plan.ca!.hostPath, keyPath: key });

    const runDir = join(work, 'run', 'tls-0001');
    const bundle = await startBundle(bundleFor(plan, runDir).specs, { host: '127.0.0.1' });
    try {
      const config = parse(await readFile(join(runDir, 'pipelock', 'pipelock.yaml'), 'utf8')) as Record<string, unknown>;
      expect(config.tls_interception).toMatchObject({ enabled: true, ca_cert: plan.ca!.hostPath, ca_key: key });
      expect(config.api_allowlist).toEqual(['api.anthropic.com']);
    } finally {
      await bundle.stop();
    }
  });

  it('TLS interception needs the proxy, a key, and one CA', async () => {
    const { cert, key } = await ecdsaCa();
    const noProxy = await configError(
      prepare(parseAgentSpec({ name: 'tls', egress: { allowHosts: ['a.example'], proxy: false, tls: { cert, key } } }), { env }),
    );
    expect(noProxy.message).toMatch(/^egress\.tls: needs the proxy/);
    const twice = await configError(
      prepare(parseAgentSpec({ name: 'tls', ca: { file: cert }, egress: { allowHosts: ['a.example'], tls: { cert, key } } }), { env }),
    );
    expect(twice.message).toMatch(/^egress\.tls\.cert: names a CA as ca\.file does/);
    const notKey = await configError(prepare(parseAgentSpec({ name: 'tls', egress: { allowHosts: ['a.example'], tls: { cert, key: cert } } }), { env }));
    expect(notKey.message).toMatch(/^egress\.tls\.key: .* holds no PEM private key/);
    const notCert = await configError(prepare(parseAgentSpec({ name: 'tls', egress: { allowHosts: ['a.example'], tls: { cert: key, key } } }), { env }));
    expect(notCert.message).toMatch(/^egress\.tls\.cert: /);
  });
});
