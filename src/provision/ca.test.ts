import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFakeSmolvm, type FakeSmolvm } from '../../fakes/index.ts';
import { loadAgentFile, parseAgentSpec } from '../agent/spec.ts';
import { bottleEnv } from '../bottle/bottle.ts';
import { launch, LaunchError } from '../bottle/launch.ts';
import { SmolvmEngine } from '../engines/smolvm/engine.ts';
import { ConfigError } from '../errors.ts';
import { AGENT_IMAGE } from '../image/recipe.ts';
import { GUEST_CA_PATH } from '../plan/plan.ts';
import { prepare } from '../plan/prepare.ts';
import { caEnv, GUEST_CA_BUNDLE, provisionCa } from './ca.ts';

// A syntactically valid PEM block is all prepare checks; the guest never parses it here.
const CA_PEM =
  '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUTESTONLY0123456789abcdefABCDEFwCgYIKoZIzj0E\nAwIwLjEsMCoGA1UEAwwjY2xhdWRlLWJvdHRsZSB0ZXN0\n-----END CERTIFICATE-----\n';

let work: string;
let env: Record<string, string>;
let fake: FakeSmolvm;
let engine: SmolvmEngine;

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'claude-bottle-ca-'));
  env = { HOME: join(work, 'home'), CLAUDE_BOTTLE_STATE_DIR: join(work, 'state'), CLAUDE_BOTTLE_SKILLS_DIR: join(work, 'skills') };
  await writeFile(join(work, 'ca.pem'), `# the proxy's CA\n${CA_PEM}`);
  fake = createFakeSmolvm();
  engine = new SmolvmEngine({ transport: fake });
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

const planWithCa = (file = join(work, 'ca.pem'), extra: Record<string, unknown> = {}) =>
  prepare(parseAgentSpec({ name: 'proxied', ca: { file }, ...extra }), { env });

describe('agent spec: ca and the agent image user', () => {
  it('ca.file is a path; unknown keys and empty or ~ paths are named', () => {
    expect(parseAgentSpec({ name: 'a', ca: { file: '/etc/ca.pem' } }).ca).toEqual({ file: '/etc/ca.pem' });
    expect(() => parseAgentSpec({ name: 'a', ca: { file: '' } })).toThrow(/ca\.file: .*is empty/);
    expect(() => parseAgentSpec({ name: 'a', ca: { file: '~/ca.pem' } })).toThrow(/ca\.file: .*'~'/);
    expect(() => parseAgentSpec({ name: 'a', ca: { path: '/x' } })).toThrow(/ca/);
  });

  it('loadAgentFile resolves ca.file against the agent file', async () => {
    await mkdir(join(work, 'agents'));
    await writeFile(join(work, 'agents', 'a.yaml'), 'name: a\nca: { file: ../ca.pem }\n');
    expect((await loadAgentFile(join(work, 'agents', 'a.yaml'))).ca).toEqual({ file: join(work, 'ca.pem') });
  });

  it('naming the agent image makes node the default user; a named user wins; other images keep root', () => {
    const node = { name: 'node', uid: 1000, gid: 1000, home: '/home/node' };
    expect(parseAgentSpec({ name: 'a', image: AGENT_IMAGE }).user).toEqual(node);
    expect(parseAgentSpec({ name: 'a', image: 'claude-bottle/agent' }).user).toEqual(node);
    expect(parseAgentSpec({ name: 'a', image: 'claude-bottle/agent:2.1.332' }).user).toEqual(node);
    expect(parseAgentSpec({ name: 'a', image: 'claude-bottle/agent', user: { name: 'root', uid: 0, gid: 0, home: '/root' } }).user.uid).toBe(0);
    expect(parseAgentSpec({ name: 'a', image: 'claude-bottle/agent-base:x' }).user.uid).toBe(0);
    expect(parseAgentSpec({ name: 'a' }).user.uid).toBe(0);
    // Parsing a parsed spec again (prepare does) keeps it.
    expect(parseAgentSpec(parseAgentSpec({ name: 'a', image: AGENT_IMAGE })).user).toEqual(node);
  });
});

describe('prepare: ca', () => {
  it('copies the certificate blocks alone into the state dir and plans the guest path', async () => {
    const plan = await planWithCa();
    expect(plan.ca).toMatchObject({ hostPath: join(work, 'state', 'agents', 'proxied', 'ca.crt'), guestPath: GUEST_CA_PATH });
    expect(await readFile(plan.ca?.hostPath ?? '', 'utf8')).toBe(CA_PEM);
    expect((await stat(plan.ca?.hostPath ?? '')).mode & 0o777).toBe(0o600);
    expect(plan.ca?.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('a missing file, a file without a certificate, or one holding a private key fail on ca.file, before any write', async () => {
    const missing = join(work, 'nope.pem');
    const error = await planWithCa(missing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe(`ca.file: ${JSON.stringify(missing)} not found (a PEM file holding the CA certificate)`);
    expect((error as ConfigError).issues).toEqual([{ path: 'ca.file', message: expect.stringContaining('not found') }]);

    await writeFile(join(work, 'empty.pem'), 'hello\n');
    await expect(planWithCa(join(work, 'empty.pem'))).rejects.toThrow(/ca\.file: .* holds no PEM certificate/);
    await writeFile(join(work, 'key.pem'), `${CA_PEM}-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n`);
    await expect(planWithCa(join(work, 'key.pem'))).rejects.toThrow(/ca\.file: .* holds a private key/);
    await expect(planWithCa(work)).rejects.toThrow(/ca\.file: .* is a directory/);
    await expect(stat(join(work, 'state'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('without ca the plan has none, and the bottle env carries no CA variables', async () => {
    const plan = await prepare(parseAgentSpec({ name: 'plain' }), { env });
    expect(plan.ca).toBeUndefined();
    expect(caEnv(plan)).toEqual({});
  });
});

describe('provisionCa (fake smolvm)', () => {
  it('a guest without update-ca-certificates: the CA lands 0644 root and is appended to the bundle', async () => {
    const plan = await planWithCa();
    const steps: string[] = [];
    await using bottle = await launch(plan, { engine, onStep: (step) => steps.push(step) });
    expect(steps).toEqual(['create', 'start', 'provision-ca', 'provision-files']);
    const fs = fake.guestFs(bottle.name);
    const st = fs?.statSync(GUEST_CA_PATH);
    expect([Number(st?.mode) & 0o777, st?.uid, st?.gid]).toEqual([0o644, 0, 0]);
    expect(fs?.readFileSync(GUEST_CA_PATH, 'utf8')).toBe(CA_PEM);
    expect(fs?.readFileSync(GUEST_CA_BUNDLE, 'utf8')).toContain(CA_PEM);
  });

  it('a guest with update-ca-certificates runs it as root; a failure fails the launch at provision-ca and removes the machine', async () => {
    const runs: number[] = [];
    let exitCode = 0;
    fake.registerCommand('update-ca-certificates', ({ user }) => {
      runs.push(user.uid);
      return { exitCode, stderr: exitCode ? 'boom\n' : '' };
    });
    const plan = await planWithCa();
    {
      await using bottle = await launch(plan, { engine });
      expect(runs).toEqual([0]);
      expect(fake.guestFs(bottle.name)?.existsSync(GUEST_CA_BUNDLE)).toBe(false);
    }
    exitCode = 1;
    const error = await launch(plan, { engine, name: 'proxied-fails' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LaunchError);
    expect(error).toMatchObject({ step: 'provision-ca' });
    expect((error as Error).message).toMatch(/update-ca-certificates failed[\s\S]*boom/);
    expect(fake.machine('proxied-fails')).toBeUndefined();
  });

  it('a failing update-ca-certificates is not hidden by the append; a failing append names itself', async () => {
    fake.registerCommand('update-ca-certificates', () => ({ exitCode: 2, stderr: 'no bundle\n' }));
    const plan = await planWithCa();
    await engine.create({ name: 'ca-fails', image: 'alpine', labels: {}, network: { enabled: false, allowHosts: [], allowCidrs: [] } });
    await engine.start('ca-fails');
    const failed = await provisionCa(engine, 'ca-fails', plan).catch((e: unknown) => e);
    expect((failed as Error).message).toBe(`ca: update-ca-certificates failed after installing ${GUEST_CA_PATH} (exit 2)\nno bundle`);
    expect(fake.guestFs('ca-fails')?.existsSync(GUEST_CA_BUNDLE)).toBe(false);

    const plain = createFakeSmolvm();
    const plainEngine = new SmolvmEngine({ transport: plain });
    await plainEngine.create({ name: 'no-dir', image: 'alpine', labels: {}, network: { enabled: false, allowHosts: [], allowCidrs: [] } });
    await plainEngine.start('no-dir');
    plain.asGuestRoot('no-dir', (fs) => fs.writeFileSync('/etc/ssl', 'a file where the bundle directory goes'));
    const appended = await provisionCa(plainEngine, 'no-dir', plan).catch((e: unknown) => e);
    expect((appended as Error).message).toMatch(
      new RegExp(`^ca: appending ${GUEST_CA_PATH} to ${GUEST_CA_BUNDLE} failed \\(exit 1\\)\nmkdir: can't create directory '/etc/ssl/': Not a directory$`),
    );
  });

  it('every exec carries the CA variables through env, the agent env winning; values never in argv', async () => {
    const plan = await planWithCa(join(work, 'ca.pem'), { env: { SSL_CERT_FILE: '/mine.pem' } });
    expect(bottleEnv(plan)).toEqual({
      NODE_EXTRA_CA_CERTS: GUEST_CA_PATH,
      SSL_CERT_FILE: '/mine.pem',
      REQUESTS_CA_BUNDLE: GUEST_CA_BUNDLE,
      CURL_CA_BUNDLE: GUEST_CA_BUNDLE,
      GIT_SSL_CAINFO: GUEST_CA_BUNDLE,
    });
    fake.registerCommand('claude', ({ env: guest }) => ({
      exitCode: 0,
      stdout: `${guest.NODE_EXTRA_CA_CERTS}|${guest.GIT_SSL_CAINFO}|${guest.SSL_CERT_FILE}`,
    }));
    await using bottle = await launch(plan, { engine });
    expect((await bottle.execClaude(['-p', 'x'])).stdout).toBe(`${GUEST_CA_PATH}|${GUEST_CA_BUNDLE}|/mine.pem`);
    expect((await bottle.exec(['sh', '-c', 'printf %s "$CURL_CA_BUNDLE"'])).stdout).toBe(GUEST_CA_BUNDLE);
    for (const call of fake.calls) expect(call.argv.some((a) => a.includes(`=${GUEST_CA_BUNDLE}`) || a.includes(`=${GUEST_CA_PATH}`))).toBe(false);
  });

  it('provisionCa installs the CA into an existing machine in two engine calls, and does nothing without one', async () => {
    const plan = await planWithCa();
    await engine.create({ name: 'by-hand', image: 'alpine', labels: {}, network: { enabled: false, allowHosts: [], allowCidrs: [] } });
    await engine.start('by-hand');
    const start = fake.calls.length;
    await provisionCa(engine, 'by-hand', plan);
    // The upload, then one script that updates the bundle or appends to it.
    expect(fake.calls.slice(start).map((c) => c.argv.slice(1, 3))).toEqual([
      ['machine', 'cp'],
      ['machine', 'exec'],
    ]);
    expect(fake.guestFs('by-hand')?.readFileSync(GUEST_CA_PATH, 'utf8')).toBe(CA_PEM);
    const before = fake.calls.length;
    await provisionCa(engine, 'by-hand', await prepare(parseAgentSpec({ name: 'plain' }), { env }));
    expect(fake.calls.length).toBe(before);
    await engine.remove('by-hand');
  });
});
