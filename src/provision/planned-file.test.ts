// The files prepare wrote and recorded by sha256 (the prompt, the CA): a file swapped before
// provisioning fails naming its field with nothing uploaded, and one swapped after the check
// (while the engine is being called) cannot reach the guest: only the checked bytes travel.
import { mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFakeSmolvm, type FakeSmolvm } from '../../fakes/index.ts';
import { unpackTar } from '../archive/tar.ts';
import { LaunchError, launch } from '../bottle/launch.ts';
import type { Engine } from '../engine/types.ts';
import { DockerEngine } from '../engines/docker/engine.ts';
import { SmolvmEngine } from '../engines/smolvm/engine.ts';
import { GUEST_CA_PATH, type Plan } from '../plan/plan.ts';
import { prepare } from '../plan/prepare.ts';
import type { Transport } from '../transport/types.ts';
import { provisionCa } from './ca.ts';
import { ProvisionError } from './error.ts';
import { provisionFiles } from './files.ts';

const SECRET = 'host-secret-7d2a61-never-in-a-guest';
const PROMPT = 'the real prompt';
const NODE = { name: 'node', uid: 1000, gid: 1000, home: '/home/node' };
const GUEST_PROMPT = '/home/node/.claude-bottle-prompt.txt';
const CA_PEM = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUTESTONLY0123456789abcdefABCDEF\n-----END CERTIFICATE-----\n';
const OTHER_PEM = `-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUATTACKER${'A'.repeat(24)}\n-----END CERTIFICATE-----\n`;

let work: string;
let env: Record<string, string>;
let fake: FakeSmolvm;
let engine: SmolvmEngine;

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'claude-bottle-planned-'));
  env = { HOME: join(work, 'home'), CLAUDE_BOTTLE_STATE_DIR: join(work, 'state'), CLAUDE_BOTTLE_SKILLS_DIR: join(work, 'skills') };
  await writeFile(join(work, 'ca.pem'), CA_PEM);
  await writeFile(join(work, 'secret.txt'), `${SECRET}\n`);
  fake = createFakeSmolvm();
  engine = new SmolvmEngine({ transport: fake });
});
afterEach(() => rm(work, { recursive: true, force: true }));

const planFor = (extra: Record<string, unknown> = {}) => prepare({ name: 'planned', prompt: PROMPT, user: NODE, ...extra }, { env });
const uploads = () => fake.calls.filter((c) => c.argv[1] === 'machine' && c.argv[2] === 'cp');

async function machine(name = 'm1'): Promise<string> {
  await engine.create({ name, image: 'alpine', labels: {}, network: { enabled: false, allowHosts: [], allowCidrs: [] } });
  await engine.start(name);
  return name;
}

/** Whether any regular file in the guest holds the secret. */
function guestHoldsSecret(name: string): boolean {
  const fs = fake.guestFs(name);
  const visit = (dir: string): boolean =>
    ((fs?.readdirSync(dir) ?? []) as string[]).some((entry) => {
      const path = dir === '/' ? `/${entry}` : `${dir}/${entry}`;
      const st = fs?.lstatSync(path);
      if (st?.isDirectory()) return visit(path);
      return st?.isFile() === true && String(fs?.readFileSync(path, 'utf8')).includes(SECRET);
    });
  return visit('/');
}

/** The ways a state-dir file can be swapped; `same` keeps the planned bytes behind a symlink. */
const swaps: [string, (path: string) => Promise<void>, string][] = [
  [
    'another file renamed over it',
    async (path) => {
      await writeFile(join(work, 'other'), `${SECRET}\n${OTHER_PEM}`);
      await rename(join(work, 'other'), path);
    },
    'is not %WHAT% prepare wrote (its sha256 differs); prepare again',
  ],
  [
    'a symlink to a secret',
    async (path) => {
      await rm(path);
      await symlink(join(work, 'secret.txt'), path);
    },
    'is a symlink, not a regular file',
  ],
  [
    'a symlink to a copy with the planned bytes',
    async (path) => {
      await writeFile(join(work, 'same'), await readFile(path));
      await rm(path);
      await symlink(join(work, 'same'), path);
    },
    'is a symlink, not a regular file',
  ],
];

/** The error names the field and the path first, then why. */
function expectReason(error: unknown, field: string, path: string, phrase: string, what: string): void {
  const message = (error as Error).message;
  expect(message.startsWith(`${field}: ${path} `), message).toBe(true);
  expect(message).toContain(phrase.replace('%WHAT%', what));
}

describe('the prompt swapped between prepare and provisioning', () => {
  it.each(swaps)('%s: provisionFiles fails naming prompt; nothing reaches the guest', async (_what, swap, phrase) => {
    const plan = await planFor();
    await swap(plan.prompt.hostPath);
    for (const transfer of ['archive', 'per-file'] as const) {
      const name = await machine(`m-${transfer}`);
      const before = fake.calls.length;
      const error = await provisionFiles(engine, name, plan, transfer).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ProvisionError);
      expectReason(error, 'prompt', plan.prompt.hostPath, phrase, 'the prompt');
      expect(fake.calls.slice(before)).toEqual([]);
      expect(fake.guestFs(name)?.existsSync(GUEST_PROMPT)).toBe(false);
      expect(guestHoldsSecret(name)).toBe(false);
    }
  });
});

describe('the CA swapped between prepare and provisioning', () => {
  it.each(swaps)('%s: the launch fails at provision-ca naming ca; nothing is uploaded, the machine is gone', async (_what, swap, phrase) => {
    const plan = await planFor({ ca: { file: join(work, 'ca.pem') } });
    const ca = plan.ca as NonNullable<Plan['ca']>;
    await swap(ca.hostPath);
    const error = await launch(plan, { engine }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LaunchError);
    expect(error).toMatchObject({ step: 'provision-ca' });
    expect((error as LaunchError).cause).toBeInstanceOf(ProvisionError);
    expectReason((error as LaunchError).cause, 'ca', ca.hostPath, phrase, 'the CA certificate');
    expect(uploads()).toEqual([]);
    expect(fake.calls.some((c) => c.argv.join(' ').includes(SECRET))).toBe(false);
    expect(JSON.parse((await fake.run(['smolvm', 'machine', 'ls', '--json'])).stdout)).toEqual([]);
  });

  it('provisionCa on an existing machine: refused before its one upload', async () => {
    const plan = await planFor({ ca: { file: join(work, 'ca.pem') } });
    const name = await machine();
    await (swaps[0]?.[1] ?? (async () => undefined))(plan.ca?.hostPath ?? '');
    const before = fake.calls.length;
    await expect(provisionCa(engine, name, plan)).rejects.toThrow(/^ca: .*ca\.crt is not the CA certificate prepare wrote/);
    expect(fake.calls.slice(before)).toEqual([]);
    expect(fake.guestFs(name)?.existsSync(GUEST_CA_PATH)).toBe(false);
  });
});

/** `engine`, but every upload first runs `swap`: a swap after the check, before the engine reads. */
function racing(inner: Engine, swap: () => Promise<void>): Engine {
  return new Proxy(inner, {
    get(target, key) {
      if (key === 'upload') {
        return async (...args: Parameters<Engine['upload']>) => {
          await swap();
          return target.upload(...args);
        };
      }
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** Swaps `path` for a symlink to the secret (once). */
function toSecret(path: () => string): () => Promise<void> {
  let done = false;
  return async () => {
    if (done) return;
    done = true;
    await rm(path(), { force: true });
    await symlink(join(work, 'secret.txt'), path());
  };
}

/** A docker engine whose CLI answers every call with success, recording the archives it is fed. */
function recordingDocker(): { engine: Engine; archives: Uint8Array[] } {
  const archives: Uint8Array[] = [];
  const transport: Transport = {
    run: async (argv, options) => {
      if (options?.stdin instanceof Uint8Array) archives.push(options.stdin);
      return { argv, exitCode: 0, stdout: '', stderr: '', stdoutBytes: new Uint8Array(), durationMs: 0, timedOut: false };
    },
  };
  return { engine: new DockerEngine({ transport }), archives };
}

const text = (archives: Uint8Array[]) => archives.flatMap((a) => unpackTar(a)).map((e) => (e.type === 'file' ? new TextDecoder().decode(e.data) : ''));

describe('a swap after the check, while the engine is called: only the checked bytes travel', () => {
  it.each(['archive', 'per-file'] as const)('the prompt, %s transfer on the fake smolvm', async (transfer) => {
    const plan = await planFor();
    const name = await machine();
    await provisionFiles(
      racing(
        engine,
        toSecret(() => plan.prompt.hostPath),
      ),
      name,
      plan,
      transfer,
    );
    expect(fake.guestFs(name)?.readFileSync(GUEST_PROMPT, 'utf8')).toBe(PROMPT);
    expect(guestHoldsSecret(name)).toBe(false);
    // The engine was handed a private copy, never the state dir's path.
    for (const call of uploads()) expect(call.argv.some((a) => a.startsWith(env.CLAUDE_BOTTLE_STATE_DIR ?? '/'))).toBe(false);
  });

  it('the CA on the fake smolvm', async () => {
    const plan = await planFor({ ca: { file: join(work, 'ca.pem') } });
    const name = await machine();
    await provisionCa(
      racing(
        engine,
        toSecret(() => plan.ca?.hostPath ?? ''),
      ),
      name,
      plan,
    );
    expect(fake.guestFs(name)?.readFileSync(GUEST_CA_PATH, 'utf8')).toBe(CA_PEM);
    expect(guestHoldsSecret(name)).toBe(false);
    for (const call of uploads()) expect(call.argv.some((a) => a.startsWith(env.CLAUDE_BOTTLE_STATE_DIR ?? '/'))).toBe(false);
  });

  it('the CA and the prompt on docker (its upload reads the host file itself)', async () => {
    const plan = await planFor({ ca: { file: join(work, 'ca.pem') } });
    const docker = recordingDocker();
    await provisionCa(
      racing(
        docker.engine,
        toSecret(() => plan.ca?.hostPath ?? ''),
      ),
      'c1',
      plan,
    );
    await provisionFiles(
      racing(
        docker.engine,
        toSecret(() => plan.prompt.hostPath),
      ),
      'c1',
      plan,
      'archive',
    );
    expect(text(docker.archives)).toEqual([CA_PEM, PROMPT]);
  });
});

describe('unswapped', () => {
  it('the prompt and the CA land with their planned bytes, in one upload each', async () => {
    await mkdir(join(work, 'skills'));
    const plan = await planFor({ ca: { file: join(work, 'ca.pem') } });
    await using bottle = await launch(plan, { engine, fileTransfer: 'per-file' });
    expect(uploads().length).toBe(2);
    expect(fake.guestFs(bottle.name)?.readFileSync(GUEST_PROMPT, 'utf8')).toBe(PROMPT);
    expect(fake.guestFs(bottle.name)?.readFileSync(GUEST_CA_PATH, 'utf8')).toBe(CA_PEM);
  });
});
