/**
 * The CLI as real processes, end to end (src/cli's unit tests run it in process): from a checkout
 * (the TypeScript sources), state shared between invocations and with the fake smolvm CLI, and
 * Ctrl-C on a foreground launch; then as an installed package (the bundled dist/), with its bins.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installPacked, packFromSources, type PackedTarball } from '../../scripts/check-package.ts';
import { isolatedCliEnv } from '../../src/cli/capture.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin/claude-bottle.js');
const FAKE_SMOLVM = join(ROOT, 'fakes/bin/smolvm');
const EXAMPLE = join(ROOT, 'examples/reviewer/agent.yaml');

let work: string;
let env: Record<string, string>;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'claude-bottle-cli-e2e-'));
  env = isolatedCliEnv(work);
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const run = (bin: string, args: string[], extra: Record<string, string> = {}) =>
  execa(process.execPath, [bin, ...args], { env: { ...env, ...extra }, extendEnv: false, reject: false, stdin: 'ignore' });

describe('claude-bottle from a checkout, as processes', () => {
  it('state survives between invocations and is shared with fakes/bin/smolvm; usage errors exit 2', async () => {
    const launched = await run(BIN, ['launch', EXAMPLE, '--backend', 'fake', '--json']);
    expect(launched.exitCode, launched.stderr).toBe(0);
    const { name } = JSON.parse(launched.stdout) as { name: string };
    expect(JSON.parse((await run(BIN, ['ls', '--json'])).stdout)).toContainEqual(expect.objectContaining({ name, state: 'running' }));
    const fail = await run(BIN, ['exec', name, '--', 'sh', '-c', 'echo to-out; echo to-err >&2; exit 42']);
    expect(fail).toMatchObject({ exitCode: 42, stdout: 'to-out', stderr: 'to-err' });
    // The fake CLI sees the same machines (same state file and lock).
    const fakeLs = await execa(FAKE_SMOLVM, ['machine', 'ls', '--json'], {
      env: { ...env, FAKE_SMOLVM_STATE: join(env.CLAUDE_BOTTLE_STATE_DIR!, 'fake-smolvm') },
      extendEnv: false,
    });
    expect((JSON.parse(fakeLs.stdout) as { name: string }[]).map((m) => m.name)).toContain(name);

    const usage = await run(BIN, ['exec', name, 'ls']);
    expect(usage).toMatchObject({ exitCode: 2, stdout: '', stderr: 'claude-bottle: exec: unexpected argument "ls" (put the command after --)' });
    expect((await run(BIN, ['rm', name])).exitCode).toBe(0);
    expect((await run(BIN, ['exec', name, '--', 'true'])).exitCode).toBe(125);
  });

  it("secrets reach the guest but never the engine's argv: every smolvm call logged by a wrapper", async () => {
    const log = join(work, 'smolvm-argv.log');
    const wrapper = join(work, 'smolvm-logging');
    await writeFile(wrapper, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\nexec '${FAKE_SMOLVM}' "$@"\n`, { mode: 0o755 });
    const agent = join(work, 'secret-agent.yaml');
    await writeFile(agent, 'name: secret\nprompt: hi\nimage: alpine\nenv:\n  API_TOKEN: sk-agent-file-secret\n');
    const smolvm = { SMOLVM_BIN: wrapper, FAKE_SMOLVM_STATE: join(work, 'logged-smolvm'), PATH: `${dirname(process.execPath)}:${env.PATH}` };
    const launched = await run(BIN, ['launch', agent, '--backend', 'smolvm', '--name', 'secret-1'], smolvm);
    expect(launched.exitCode, launched.stderr).toBe(0);
    const exec = await run(BIN, ['exec', 'secret-1', '--env', 'FROM_HOST', '--', 'sh', '-c', 'echo $API_TOKEN $FROM_HOST'], {
      ...smolvm,
      FROM_HOST: 'sk-host-env-secret',
    });
    expect(exec).toMatchObject({ exitCode: 0, stdout: 'sk-agent-file-secret sk-host-env-secret' });
    const argv = await readFile(log, 'utf8');
    expect(argv).toContain('machine exec --name secret-1 --env API_TOKEN --env FROM_HOST');
    expect(argv).not.toMatch(/sk-agent-file-secret|sk-host-env-secret/);
    expect((await run(BIN, ['rm', 'secret-1'], smolvm)).exitCode).toBe(0);
  });

  it('Ctrl-C on a foreground launch stops its daemons and removes the bottle', async () => {
    const file = join(work, 'supervised.yaml');
    await writeFile(file, 'name: supervised\nprompt: Report progress.\nsupervise: { name: boss }\n');
    const launching = execa(process.execPath, [BIN, 'launch', file, '--backend', 'fake', '--json'], { env, extendEnv: false, reject: false, stdin: 'ignore' });
    let stderr = '';
    launching.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    for (let i = 0; i < 400 && !stderr.includes('serving supervise'); i++) await new Promise((r) => setTimeout(r, 50));
    const bottle = /serving supervise for (supervised-[0-9a-f]{8})/.exec(stderr)?.[1];
    expect(bottle, stderr).toBeDefined();
    expect((await run(BIN, ['exec', bottle!, '--', 'true'])).exitCode).toBe(0);

    launching.kill('SIGINT');
    const done = await launching;
    expect(done.exitCode).toBe(0);
    expect(JSON.parse(done.stdout)).toMatchObject({ name: bottle, daemons: 'supervise' });
    expect(stderr).toContain(`stopped supervise and removed ${bottle}`);
    expect(JSON.parse((await run(BIN, ['ls', '--json'])).stdout)).not.toContainEqual(expect.objectContaining({ name: bottle }));
  });
});

describe('claude-bottle as an installed package (npm pack, then the bundled dist/)', () => {
  let installed: { root: string; bin: string };
  let packed: PackedTarball | undefined;
  beforeAll(async () => {
    // Built from the current sources in a scratch copy (never the checkout's dist/), installed
    // with its runtime dependencies only, plus what the consumer type-check below needs.
    packed = await packFromSources();
    const root = await installPacked(packed, join(work, 'installed'), ['vitest', '@types/node']);
    installed = { root, bin: join(root, 'bin/claude-bottle.js') };
  }, 300_000);
  afterAll(async () => {
    if (packed) await rm(packed.dir, { recursive: true, force: true });
  });

  it('prints help and version, launches on the embedded fake and execs in the bottle', async () => {
    const help = await run(installed.bin, ['exec', '--help']);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toMatch(/^Usage: claude-bottle exec <bottle>/);
    const { version } = JSON.parse(await import('node:fs/promises').then((fs) => fs.readFile(join(ROOT, 'package.json'), 'utf8'))) as { version: string };
    expect((await run(installed.bin, ['--version'])).stdout).toBe(version);

    const state = { CLAUDE_BOTTLE_STATE_DIR: join(work, 'installed-state') };
    const launched = await run(installed.bin, ['launch', EXAMPLE, '--backend', 'fake', '--json'], state);
    expect(launched.exitCode, launched.stderr).toBe(0);
    const { name } = JSON.parse(launched.stdout) as { name: string };
    const cat = await run(installed.bin, ['exec', name, '--', 'cat', '/root/.claude/skills/changelog/SKILL.md'], state);
    expect(cat.exitCode, cat.stderr).toBe(0);
    expect(cat.stdout).toContain('name: changelog');
    expect((await run(installed.bin, ['rm', name], state)).exitCode).toBe(0);
  });

  it('its three entry points import, and type-check for a consumer, through the exports map', async () => {
    const dir = join(installed.root, '../..');
    const consumer = join(dir, 'consumer.ts');
    await writeFile(
      consumer,
      [
        "import { createProcessTransport, launch, prepare, SmolvmEngine, type Transport } from 'claude-bottle';",
        "import { createFakeSmolvm } from 'claude-bottle/fakes';",
        "import { describeEngineContract } from 'claude-bottle/testing';",
        'const transport: Transport = createFakeSmolvm();',
        'export const used = [createProcessTransport, launch, prepare, new SmolvmEngine({ transport }), describeEngineContract];',
        '',
      ].join('\n'),
    );
    const tsc = await execa(
      process.execPath,
      [
        join(ROOT, 'node_modules/typescript/bin/tsc'),
        '--noEmit',
        '--strict',
        '--module',
        'nodenext',
        '--moduleResolution',
        'nodenext',
        '--target',
        'es2024',
        '--types',
        'node',
        '--skipLibCheck',
        consumer,
      ],
      { cwd: dir, reject: false },
    );
    expect(tsc.exitCode, tsc.stdout).toBe(0);
    const script =
      "const [a, b, c] = await Promise.all(['claude-bottle', 'claude-bottle/fakes', 'claude-bottle/testing'].map((m) => import(m))); console.log(typeof a.launch, typeof b.createFakeSmolvm, typeof c.describeEngineContract);";
    const loaded = await execa(process.execPath, ['--input-type=module', '-e', script], { cwd: dir, reject: false });
    expect(loaded.stdout, loaded.stderr).toBe('function function function');
  });

  it('its fake bins run from dist/ too', async () => {
    const smolvm = await execa(join(installed.root, 'fakes/bin/smolvm'), ['--version'], { reject: false });
    expect(smolvm.stdout, smolvm.stderr).toBe('smolvm 1.9.2');
    const pipelock = await execa(join(installed.root, 'fakes/bin/pipelock'), ['--version'], { reject: false });
    expect(pipelock.stdout, pipelock.stderr).toMatch(/^pipelock version /);
  });
});
