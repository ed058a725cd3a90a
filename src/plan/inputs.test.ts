// Issue 9 §3 at prepare: every configuration error is found before the first write, engine
// errors included; guest dirs in system dirs are refused; host files are read bounded.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memfs } from 'memfs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFakeSmolvm } from '../../fakes/index.ts';
import { MAX_CA_FILE_BYTES, MAX_KEY_FILE_BYTES, MAX_PATH_BYTES, MAX_SKILL_BYTES, MAX_SKILL_ENTRIES } from '../agent/limits.ts';
import { PROTECTED_GUEST_DIRS } from '../agent/names.ts';
import { type AgentSpecInput, parseAgentSpec } from '../agent/spec.ts';
import { DockerEngine } from '../engines/docker/engine.ts';
import { SmolvmEngine } from '../engines/smolvm/engine.ts';
import { ConfigError } from '../errors.ts';
import type { HostFs } from '../host/fs.ts';
import type { Transport } from '../transport/types.ts';
import { fakePipelockBin } from '../testing/pipelock.ts';
import { prepare, type PrepareOptions } from './prepare.ts';

let tmp: string;
let stateRoot: string;
let env: Record<string, string>;

beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'claude-bottle-inputs-'));
  stateRoot = join(tmp, 'state');
  env = { CLAUDE_BOTTLE_STATE_DIR: stateRoot, HOME: join(tmp, 'home'), PIPELOCK_BIN: fakePipelockBin() };
});
afterEach(() => rm(tmp, { recursive: true, force: true }));

/** A docker transport that must never be called: `checkConfig` needs no docker. */
function silentTransport(): { transport: Transport; calls: string[][] } {
  const calls: string[][] = [];
  return {
    calls,
    transport: {
      run: async (argv) => {
        calls.push([...argv]);
        throw new Error(`unexpected docker call: ${argv.join(' ')}`);
      },
    },
  };
}

/** Refused with a ConfigError naming `field`, and nothing at all under the state root. */
async function refusedAt(field: string, agent: AgentSpecInput, options: PrepareOptions = {}): Promise<ConfigError> {
  const error: unknown = await prepare(agent, { env, homedir: join(tmp, 'home'), ...options }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  const config = error as ConfigError;
  expect(config.issues.map((i) => i.path)).toContain(field);
  expect(config.message).toContain(`${field}: `);
  expect(existsSync(stateRoot)).toBe(false);
  return config;
}

describe('engine configuration errors are found at prepare, before any write', () => {
  it('an image starting with "-" on Docker names the field; docker is never run', async () => {
    const { transport, calls } = silentTransport();
    const error = await refusedAt('image', { name: 'a', image: '--privileged' }, { engine: new DockerEngine({ transport }) });
    expect(error.message).toBe('image: "--privileged" is not an image reference docker takes (empty, starts with "-" or has spaces)');
    expect(calls).toEqual([]);
  });

  it('a line break in HTTP_PROXY (read by the docker CLI) names the variable, not its value', async () => {
    const { transport } = silentTransport();
    const error = await refusedAt(
      'env.HTTP_PROXY',
      { name: 'a', env: { HTTP_PROXY: 'http://proxy\nsecret-bit' } },
      { engine: new DockerEngine({ transport }) },
    );
    expect(error.message).toMatch(/^env\.HTTP_PROXY: docker cannot carry this value: it holds a line break/);
    expect(error.message).not.toContain('secret-bit');
  });

  it('an env value with a NUL is refused by the spec itself, on any engine', async () => {
    const { transport } = silentTransport();
    await refusedAt('env.TOKEN', { name: 'a', env: { TOKEN: 'a\u0000b' } }, { engine: new DockerEngine({ transport }) });
  });

  it('egress without the proxy on an engine that cannot filter by itself', async () => {
    const { transport } = silentTransport();
    await refusedAt('egress.proxy', parseAgentSpec({ name: 'a', egress: { allowHosts: ['a.example'], proxy: false } }), {
      engine: new DockerEngine({ transport }),
    });
  });

  it('an existing state dir gets no prompt.txt when the engine refuses', async () => {
    const { transport } = silentTransport();
    const dir = join(stateRoot, 'agents', 'a');
    await mkdir(dir, { recursive: true });
    const error = await prepare({ name: 'a', image: '-x', prompt: 'hello' }, { env, engine: new DockerEngine({ transport }) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(await readdir(dir)).toEqual([]);
  });

  it('the same agent passes on smolvm (the fake), and without an engine prepare is as before', async () => {
    const engine = new SmolvmEngine({ transport: createFakeSmolvm() });
    const plan = await prepare({ name: 'a', env: { HTTP_PROXY: 'http://p\nq' } }, { env, engine });
    expect(existsSync(plan.prompt.hostPath)).toBe(true);
    expect((await prepare({ name: 'b', image: '-x' }, { env })).agent.image).toBe('-x');
  });
});

describe('guest dirs may not be / or a system dir', () => {
  it.each(['/', '/etc', '/etc/', '/usr/local/skills', '/var/lib/x', '/proc/self', '/lib64'])('CLAUDE_BOTTLE_GUEST_SKILLS_DIR=%s is refused', async (dir) => {
    env.CLAUDE_BOTTLE_GUEST_SKILLS_DIR = dir;
    const error = await refusedAt('CLAUDE_BOTTLE_GUEST_SKILLS_DIR', { name: 'a' });
    expect(error.message).toContain(`${JSON.stringify(dir)} is not a valid guest skills dir: it is `);
  });

  it('the refusal says which system dir', async () => {
    env.CLAUDE_BOTTLE_GUEST_SKILLS_DIR = '/etc';
    const error = await refusedAt('CLAUDE_BOTTLE_GUEST_SKILLS_DIR', { name: 'a' });
    expect(error.message).toBe(
      `CLAUDE_BOTTLE_GUEST_SKILLS_DIR: "/etc" is not a valid guest skills dir: it is /etc, a system directory (${PROTECTED_GUEST_DIRS.join(' ')} and / are refused)`,
    );
  });

  it.each(['/opt/x', '/etcetera', '/tmp/skills', '/srv/usr'])('%s is fine', async (dir) => {
    env.CLAUDE_BOTTLE_GUEST_SKILLS_DIR = dir;
    expect((await prepare({ name: 'a' }, { env })).skills.guestDir).toBe(dir);
  });

  it('a home in a system dir is refused (the prompt and default skills dir live there)', async () => {
    await refusedAt('user.home', { name: 'a', user: { name: 'u', uid: 1, gid: 1, home: '/etc' } });
    await refusedAt('user.home', { name: 'a', user: { name: 'u', uid: 1, gid: 1, home: '/' } });
  });

  it('git.workspace in a system dir is refused', async () => {
    const repo = join(tmp, 'repo');
    await mkdir(repo);
    await refusedAt('git.workspace', { name: 'a', git: { repo, workspace: '/usr/src/app' } });
  });
});

describe('host files named by the agent are read bounded, naming the field', () => {
  it('ca.file: /dev/zero is refused unread', async () => {
    const error = await refusedAt('ca.file', { name: 'a', ca: { file: '/dev/zero' } });
    expect(error.message).toBe('ca.file: "/dev/zero" is a character device, not a regular file');
  });

  it('ca.file: a directory, a missing file and one over the cap', async () => {
    expect((await refusedAt('ca.file', { name: 'a', ca: { file: tmp } })).message).toBe(`ca.file: ${JSON.stringify(tmp)} is a directory, not a regular file`);
    const missing = join(tmp, 'nope.pem');
    expect((await refusedAt('ca.file', { name: 'a', ca: { file: missing } })).message).toBe(
      `ca.file: ${JSON.stringify(missing)} not found (a PEM file holding the CA certificate)`,
    );
    const big = join(tmp, 'big.pem');
    await writeFile(big, 'x'.repeat(MAX_CA_FILE_BYTES + 1));
    expect((await refusedAt('ca.file', { name: 'a', ca: { file: big } })).message).toBe(
      `ca.file: ${JSON.stringify(big)} is ${MAX_CA_FILE_BYTES + 1} bytes; at most ${MAX_CA_FILE_BYTES} are read`,
    );
  });

  it('egress.tls.cert and egress.tls.key', async () => {
    const key = join(tmp, 'big.key');
    await writeFile(key, 'k'.repeat(MAX_KEY_FILE_BYTES + 1));
    const agent = { name: 'a', egress: { allowHosts: ['a.example'], tls: { cert: '/dev/zero', key } } };
    expect((await refusedAt('egress.tls.cert', agent)).message).toBe('egress.tls.cert: "/dev/zero" is a character device, not a regular file');
  });

  it('egress.tls.key over its cap', async () => {
    const cert = join(tmp, 'ca.pem');
    await writeFile(cert, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    const key = join(tmp, 'big.key');
    await writeFile(key, 'k'.repeat(MAX_KEY_FILE_BYTES + 1));
    const error = await refusedAt('egress.tls.key', { name: 'a', egress: { allowHosts: ['a.example'], tls: { cert, key } } });
    expect(error.message).toBe(`egress.tls.key: ${JSON.stringify(key)} is ${MAX_KEY_FILE_BYTES + 1} bytes; at most ${MAX_KEY_FILE_BYTES} are read`);
  });
});

describe('skills are bounded in number of entries, bytes and guest path length', () => {
  it(`more than ${MAX_SKILL_ENTRIES} files and dirs in all are refused, the walk stopping there`, async () => {
    const files: Record<string, string> = { '/h/.claude/skills/a/SKILL.md': 'a', '/h/.claude/skills/b/SKILL.md': 'b' };
    for (let i = 0; i < MAX_SKILL_ENTRIES; i++) files[`/h/.claude/skills/${i % 2 ? 'a' : 'b'}/f${i}`] = '';
    const { fs } = memfs(files);
    let lstats = 0;
    const counting: HostFs = {
      ...fs.promises,
      lstat: (path, options) => {
        lstats++;
        return fs.promises.lstat(path, options);
      },
    } as HostFs;
    const error = await refusedAt('skills', { name: 'a', skills: ['a', 'b'] }, { fs: counting, homedir: '/h' });
    expect(error.message).toBe(`skills: hold more than ${MAX_SKILL_ENTRIES} files and directories in all (skills dir /h/.claude/skills)`);
    expect(lstats).toBeLessThanOrEqual(MAX_SKILL_ENTRIES);
  });

  it(`more than ${MAX_SKILL_BYTES} bytes in all are refused`, async () => {
    const { fs } = memfs({
      '/h/.claude/skills/a/SKILL.md': 'a',
      '/h/.claude/skills/a/big': 'x',
      '/h/.claude/skills/b/SKILL.md': 'b',
      '/h/.claude/skills/b/big': 'y',
    });
    // memfs holds no 64 MiB files cheaply: report the two `big` files as 40 MiB each.
    const lying: HostFs = {
      ...fs.promises,
      lstat: async (path, options) => {
        const stats = await fs.promises.lstat(path, options);
        return path.endsWith('/big') ? Object.assign(stats, { size: 40n * 1024n * 1024n }) : stats;
      },
    } as HostFs;
    const error = await refusedAt('skills', { name: 'a', skills: ['a', 'b'] }, { fs: lying, homedir: '/h' });
    expect(error.message).toBe(`skills: hold more than ${MAX_SKILL_BYTES} bytes in all (skills dir /h/.claude/skills)`);
  });

  it(`a file that would land at a guest path over ${MAX_PATH_BYTES} bytes is refused`, async () => {
    const deep = Array.from({ length: 20 }, () => 'd'.repeat(250)).join('/');
    const { fs } = memfs({ '/h/.claude/skills/a/SKILL.md': 'a', [`/h/.claude/skills/a/${deep}/f`]: 'x' });
    const error = await refusedAt('skills[0]', { name: 'a', skills: ['a'] }, { fs: fs.promises as HostFs, homedir: '/h' });
    expect(error.message).toContain(`would land at a guest path longer than ${MAX_PATH_BYTES} bytes`);
  });
});
