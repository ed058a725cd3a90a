/**
 * The real agent image on a real Docker engine: its contents, a bottle launched from it (prompt
 * and skills owned by `node`), a provisioned CA trusted by curl, Node and git, and the real
 * claude-code receiving its prompt and skills from a local Messages API stand-in.
 *
 * The guests reach only this machine: every bottle that has a network joins an `--internal`
 * Docker network this file creates, and the servers listen on that network's gateway address.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it, type TestContext } from 'vitest';
import { type AgentSpecInput, parseAgentSpec } from '../../src/agent/spec.ts';
import type { Bottle } from '../../src/bottle/bottle.ts';
import { launch } from '../../src/bottle/launch.ts';
import { DockerEngine } from '../../src/engines/docker/engine.ts';
import { AGENT_IMAGE, CLAUDE_CODE_VERSION, IMAGE_LABELS, NODE_VERSION } from '../../src/image/recipe.ts';
import { GUEST_CA_PATH } from '../../src/plan/plan.ts';
import { prepare } from '../../src/plan/prepare.ts';
import { CA_ENV, GUEST_CA_BUNDLE } from '../../src/provision/ca.ts';
import { describeClaudeProof, standInEnv } from '../../src/testing/claude-proof.ts';
import { recordCalls } from '../../src/testing/engine-contract.ts';
import { listedSkills, startMessagesApiStandIn, systemText } from '../../src/testing/messages-api.ts';
import { createProcessTransport } from '../../src/transport/process.ts';
import { makeTestPki } from './tls.ts';

const setup = inject('agentImage');
const inCI = process.env.CI === 'true';
const skipReason = setup.state === 'ready' ? undefined : setup.reason;
const run = randomBytes(3).toString('hex');
const ONLINE = { enabled: true, allowHosts: [], allowCidrs: [] } as const;

const { transport, calls } = recordCalls(createProcessTransport());

/** The test's own `--internal` network: its gateway is this machine, and nothing beyond it is reachable. */
let networkPromise: Promise<{ name: string; gateway: string }> | undefined;
function testNetwork(): Promise<{ name: string; gateway: string }> {
  networkPromise ??= (async () => {
    const name = `cbi-${run}`;
    await docker('network', 'create', '--internal', '--label', `claude-bottle.image-test=${run}`, name);
    const gateway = await docker('network', 'inspect', '--format', '{{(index .IPAM.Config 0).Gateway}}', name);
    expect(gateway).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    return { name, gateway };
  })();
  return networkPromise;
}

async function docker(...args: string[]): Promise<string> {
  const result = await transport.run(['docker', ...args]);
  if (result.exitCode !== 0) throw new Error(`docker ${args.join(' ')}: ${result.stderr}`);
  return result.stdout.trim();
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'claude-bottle-image-test-'));
});
afterAll(async () => {
  if (networkPromise) {
    const { name } = await networkPromise;
    // Bottles are removed by `await using`; anything left on the network (a failed test) goes too.
    const left = (await transport.run(['docker', 'ps', '-aq', '--filter', `network=${name}`])).stdout.split('\n').filter(Boolean);
    if (left.length) await transport.run(['docker', 'rm', '-f', ...left]);
    await transport.run(['docker', 'network', 'rm', name]);
  }
  await rm(dir, { recursive: true, force: true });
});

function image(): string {
  if (setup.state !== 'ready') throw new Error(`agent image unavailable: ${setup.reason}`);
  return setup.image;
}

const test = (title: string, body: () => Promise<void>): void => {
  it(title, async (ctx: TestContext) => {
    if (skipReason !== undefined) ctx.skip(skipReason);
    await body();
  });
};

/** A skills dir holding one skill whose description carries `marker`. */
async function skillsWith(name: string, marker: string): Promise<string> {
  const skillsDir = join(dir, `skills-${randomBytes(4).toString('hex')}`);
  await mkdir(join(skillsDir, name, 'scripts'), { recursive: true });
  await writeFile(join(skillsDir, name, 'SKILL.md'), `---\nname: ${name}\ndescription: ${marker}\n---\n\nBody.\n`);
  await writeFile(join(skillsDir, name, 'scripts', 'run.sh'), '#!/bin/sh\necho ran\n', { mode: 0o755 });
  return skillsDir;
}

async function launchAgent(spec: Partial<AgentSpecInput>, engine: DockerEngine, online = false): Promise<Bottle> {
  const plan = await prepare(parseAgentSpec({ name: 'image-test', image: image(), ...spec }), {
    env: { ...process.env, CLAUDE_BOTTLE_STATE_DIR: join(dir, 'state') },
  });
  return launch(plan, { engine, ...(online ? { network: ONLINE } : {}) });
}

describe('agent image availability', () => {
  it('a Docker engine answers and the agent image is built', (ctx) => {
    if (setup.state === 'ready') return;
    if (inCI) throw new Error(`agent image tests must run in CI: ${setup.reason}`);
    ctx.skip(setup.reason);
  });
});

describe('the agent image', () => {
  const offline = new DockerEngine({ transport });

  test('node 24, claude-code, git, curl and CA certificates; the node user; the recipe labels', async () => {
    const labels = JSON.parse(await docker('image', 'inspect', '--format', '{{json .Config.Labels}}', image())) as Record<string, string>;
    expect(labels).toMatchObject({ [IMAGE_LABELS.claudeCode]: CLAUDE_CODE_VERSION, [IMAGE_LABELS.node]: NODE_VERSION, [IMAGE_LABELS.role]: 'agent' });
    expect(await docker('image', 'inspect', '--format', '{{.Config.User}} {{.Config.WorkingDir}}', image())).toBe('node /home/node');

    await using bottle = await launchAgent({}, offline);
    const facts = await bottle.exec([
      'sh',
      '-c',
      'id -un; id -u; id -g; echo "$HOME"; node --version; claude --version; git --version; curl --version | head -n1; test -s /etc/ssl/certs/ca-certificates.crt && echo bundle; command -v update-ca-certificates',
    ]);
    expect(facts, facts.stderr).toMatchObject({ exitCode: 0 });
    const lines = facts.stdout.trim().split('\n');
    expect(lines.slice(0, 5)).toEqual(['node', '1000', '1000', '/home/node', `v${NODE_VERSION}`]);
    expect(lines[5]).toBe(`${CLAUDE_CODE_VERSION} (Claude Code)`);
    expect(lines[6]).toMatch(/^git version 2\./);
    expect(lines[7]).toMatch(/^curl \d/);
    expect(lines.slice(8)).toEqual(['bundle', '/usr/sbin/update-ca-certificates']);
  });

  test('an agent naming the image runs as node: prompt and skills land in /home/node, owned by node; git works', async () => {
    const promptMarker = `prompt-${run}`;
    const skillsDir = await skillsWith('layout-skill', `skill-${run}`);
    await using bottle = await launchAgent({ prompt: `Marker ${promptMarker}.`, skills: ['layout-skill'], skillsDir, image: AGENT_IMAGE }, offline);
    expect(bottle.user).toEqual({ name: 'node', uid: 1000, gid: 1000, home: '/home/node' });
    expect(bottle.promptPath).toBe('/home/node/.claude-bottle-prompt.txt');
    expect(bottle.skillsDir).toBe('/home/node/.claude/skills');

    const owners = await bottle.exec([
      'stat',
      '-c',
      '%n %U:%G %a',
      '/home/node/.claude-bottle-prompt.txt',
      '/home/node/.claude',
      '/home/node/.claude/skills',
      '/home/node/.claude/skills/layout-skill',
      '/home/node/.claude/skills/layout-skill/SKILL.md',
      '/home/node/.claude/skills/layout-skill/scripts/run.sh',
    ]);
    expect(owners.stdout.trim().split('\n')).toEqual([
      '/home/node/.claude-bottle-prompt.txt node:node 600',
      '/home/node/.claude node:node 755',
      '/home/node/.claude/skills node:node 755',
      '/home/node/.claude/skills/layout-skill node:node 755',
      '/home/node/.claude/skills/layout-skill/SKILL.md node:node 644',
      '/home/node/.claude/skills/layout-skill/scripts/run.sh node:node 755',
    ]);
    expect((await bottle.exec(['cat', bottle.promptPath ?? ''])).stdout).toBe(`Marker ${promptMarker}.`);
    expect((await bottle.exec(['/home/node/.claude/skills/layout-skill/scripts/run.sh'])).stdout).toBe('ran\n');

    const git = await bottle.exec([
      'sh',
      '-c',
      'git --version && cd "$HOME" && git init -q repo && cd repo && git -c user.name=n -c user.email=n@x commit -q --allow-empty -m first && git log --format=%s',
    ]);
    expect(git, git.stderr).toMatchObject({ exitCode: 0 });
    expect(git.stdout).toMatch(/^git version 2\.[\s\S]*\nfirst\n$/);
  });
});

describe('a provisioned CA on the agent image', () => {
  test('curl, node and git trust a server the CA signed; the CA env travels outside argv; without the CA they refuse', async () => {
    const { name: network, gateway } = await testNetwork();
    const engine = new DockerEngine({ transport, network });
    const pki = await makeTestPki(await mkdtemp(join(dir, 'pki-')), gateway, run);
    await using server = await startMessagesApiStandIn({ host: gateway, tls: { key: pki.serverKey, cert: pki.serverCert } });
    const url = `${server.url}/api/hello`;

    await using trusting = await launchAgent({ ca: { file: pki.caFile } }, engine, true);
    expect(trusting.env).toMatchObject({
      NODE_EXTRA_CA_CERTS: GUEST_CA_PATH,
      SSL_CERT_FILE: GUEST_CA_BUNDLE,
      REQUESTS_CA_BUNDLE: GUEST_CA_BUNDLE,
      CURL_CA_BUNDLE: GUEST_CA_BUNDLE,
      GIT_SSL_CAINFO: GUEST_CA_BUNDLE,
    });
    const installed = await trusting.exec([
      'sh',
      '-c',
      `stat -c '%U:%G %a' /usr/local/share/ca-certificates ${GUEST_CA_PATH}; cat ${GUEST_CA_PATH}; printenv ${[...CA_ENV.additive, ...CA_ENV.bundle].join(' ')}`,
    ]);
    expect(installed.stdout).toBe(`root:root 755\nroot:root 644\n${pki.caPem.trim()}\n${GUEST_CA_PATH}\n${Array(4).fill(GUEST_CA_BUNDLE).join('\n')}\n`);
    const caBody = pki.caPem
      .split('\n')
      .filter((l) => l && !l.startsWith('-----'))
      .join('\n');
    expect((await trusting.exec(['cat', GUEST_CA_BUNDLE])).stdout.replaceAll('\r', '')).toContain(caBody);

    const curl = await trusting.exec(['curl', '-sS', '--max-time', '20', url]);
    expect(curl, curl.stderr).toMatchObject({ exitCode: 0, stdout: '{"ok":true}' });
    const node = await trusting.exec([
      'node',
      '-e',
      `fetch(${JSON.stringify(url)}).then(r => r.text()).then(t => console.log(t), e => { console.error(e.cause ?? e); process.exit(3); })`,
    ]);
    expect(node, node.stderr).toMatchObject({ exitCode: 0, stdout: '{"ok":true}\n' });
    // git speaks TLS to the server, then finds no repository there: the failure is HTTP's, not the certificate's.
    const before = server.requests.length;
    const git = await trusting.exec(['git', 'ls-remote', `${server.url}/repo.git`]);
    expect(git.exitCode).not.toBe(0);
    expect(git.stderr).not.toMatch(/certificate|SSL/i);
    expect(server.requests.slice(before).map((r) => r.path)).toContain('/repo.git/info/refs');

    await using untrusting = await launchAgent({}, engine, true);
    const refused = await untrusting.exec(['curl', '-sS', '--max-time', '20', url]);
    expect(refused.exitCode).toBe(60); // CURLE_PEER_FAILED_VERIFICATION
    const nodeRefused = await untrusting.exec([
      'node',
      '-e',
      `fetch(${JSON.stringify(url)}).then(() => process.exit(0), e => { console.error(String(e.cause?.code)); process.exit(3); })`,
    ]);
    expect(nodeRefused).toMatchObject({ exitCode: 3 });
    expect(nodeRefused.stderr).toMatch(/CERT|SELF_SIGNED|UNABLE_TO_VERIFY/);

    // Only names reached argv: the env values (paths) travelled in the docker CLI's environment.
    for (const argv of calls()) expect(argv.filter((a) => a.endsWith(`=${GUEST_CA_PATH}`) || a.endsWith(`=${GUEST_CA_BUNDLE}`))).toEqual([]);
  });

  test('claude itself reaches an HTTPS Messages API through the provisioned CA', async () => {
    const { name: network, gateway } = await testNetwork();
    const engine = new DockerEngine({ transport, network });
    const pki = await makeTestPki(await mkdtemp(join(dir, 'pki-')), gateway, `${run}-claude`);
    const reply = `TLS-REPLY-${run}`;
    await using standIn = await startMessagesApiStandIn({ host: gateway, reply, tls: { key: pki.serverKey, cert: pki.serverCert } });
    const promptMarker = `TLS-PROMPT-${run}`;
    const skillsDir = await skillsWith('tls-skill', `TLS-SKILL-${run}`);
    await using bottle = await launchAgent({ prompt: promptMarker, skills: ['tls-skill'], skillsDir, ca: { file: pki.caFile } }, engine, true);
    const result = await bottle.execClaude(['-p', 'hello'], { env: standInEnv(standIn, `sk-dummy-${run}`), timeoutMs: 180_000 });
    expect(result, result.stderr).toMatchObject({ exitCode: 0 });
    expect(result.stdout).toContain(reply);
    const [request] = standIn.messageRequests;
    expect(request && systemText(request)).toContain(promptMarker);
    expect(request && listedSkills(request)).toContainEqual({ name: 'tls-skill', description: `TLS-SKILL-${run}` });
  });
});

describeClaudeProof(
  'docker, the agent image, an --internal network',
  async () => {
    const { name: network, gateway } = await testNetwork();
    return { engine: new DockerEngine({ transport, network }), image: image(), standInHost: gateway, calls };
  },
  skipReason !== undefined ? { skip: skipReason } : {},
);
