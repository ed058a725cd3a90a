// Real smolvm: macOS with `smolvm` on PATH (or SMOLVM_BIN). Elsewhere every test here is skipped,
// and the suite's title says why.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAgentSpec } from '../../src/agent/spec.ts';
import { launch } from '../../src/bottle/launch.ts';
import { SmolvmEngine } from '../../src/engines/smolvm/engine.ts';
import { prepare } from '../../src/plan/prepare.ts';
import { smolvmArgv } from '../../src/engines/smolvm/argv.ts';
import { SmolvmError } from '../../src/engines/smolvm/errors.ts';
import { compareVersions, parseSmolvmVersion, requireSmolvmVersion, type SmolvmVersion } from '../../src/engines/smolvm/version.ts';
import { describeBackendContract } from '../../src/testing/backend-contract.ts';
import { describeEngineContract, recordCalls } from '../../src/testing/engine-contract.ts';
import { createProcessTransport } from '../../src/transport/process.ts';

const transport = createProcessTransport();
/** A smolvm verb sent as it is, for flags the engine does not expose. */
const smolvm = async (argv: string[]): Promise<void> => {
  const result = await transport.run(argv);
  if (result.exitCode !== 0) throw SmolvmError.fromResult(result);
};

async function smolvmHere(): Promise<{ version?: SmolvmVersion; reason?: string }> {
  if (process.platform !== 'darwin') return { reason: `smolvm integration runs on macOS only (this is ${process.platform})` };
  try {
    return { version: await requireSmolvmVersion(transport) };
  } catch (error) {
    return { reason: `no usable smolvm: ${(error as Error).message.split('\n')[0]}` };
  }
}

const { version, reason } = await smolvmHere();
const title = reason ? `real smolvm (skipped: ${reason})` : `real smolvm ${version?.raw}`;

describe.skipIf(reason !== undefined)(title, () => {
  const run = randomBytes(3).toString('hex');
  const engine = new SmolvmEngine({ transport });
  const created: string[] = [];
  let work = '';

  afterAll(async () => {
    for (const name of created) await engine.remove(name).catch(() => undefined);
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('launches an alpine guest whose prompt file holds the prompt body', async () => {
    work = await mkdtemp(join(tmpdir(), 'claude-bottle-smolvm-'));
    const env = { ...process.env, CLAUDE_BOTTLE_STATE_DIR: join(work, 'state'), CLAUDE_BOTTLE_SKILLS_DIR: join(work, 'skills') };
    const body = `You are bottled (${run}).\n`;
    const plan = await prepare(parseAgentSpec({ name: 'smolvm-it', prompt: body }), { env });
    const bottle = await launch(plan, { engine });
    created.push(bottle.name);
    expect(bottle.promptPath).toBe('/root/.claude-bottle-prompt.txt');
    const cat = await bottle.exec(['cat', bottle.promptPath!]);
    expect(cat).toMatchObject({ exitCode: 0, stdout: body });
    expect((await bottle.exec(['stat', '-c', '%a %u %g', bottle.promptPath!])).stdout).toBe('600 0 0\n');
    await bottle.remove();
    expect(await engine.status(bottle.name)).toBeUndefined();
  });

  it('smoke: exec passes exit codes and both streams through', async () => {
    const name = `cb-smoke-${run}`;
    created.push(name);
    await engine.create({ name, image: 'alpine', labels: { 'claude-bottle': '1' }, network: { enabled: false, allowHosts: [], allowCidrs: [] } });
    await engine.start(name);
    expect(await engine.exec(name, ['sh', '-c', 'echo out; echo err >&2; exit 3'])).toMatchObject({ exitCode: 3, stdout: 'out\n', stderr: 'err\n' });
    await engine.remove(name);
  });

  describe('TSI probes', () => {
    let server: Server;
    let port = 0;
    const loopbackFlag = version && compareVersions(version, parseSmolvmVersion('1.10.0')!) >= 0;

    afterAll(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

    const listen = async () => {
      if (server) return;
      server = createServer((socket) => socket.end(`pong-${run}\n`));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as { port: number }).port;
    };
    const probe = (name: string) => engine.exec(name, ['sh', '-c', `nc -w 3 127.0.0.1 ${port} </dev/null`], { timeoutMs: 20_000 });

    it('a guest with --net reaches a TCP listener on the host loopback', async () => {
      await listen();
      const name = `cb-tsi-on-${run}`;
      created.push(name);
      await smolvm(smolvmArgv.create({ name, net: true, ...(loopbackFlag ? { allowHostLoopback: true } : {}) }));
      await engine.start(name);
      const result = await probe(name);
      expect(result.stdout).toContain(`pong-${run}`);
      await engine.remove(name);
    });

    it('a guest without --net cannot reach it', async () => {
      await listen();
      const name = `cb-tsi-off-${run}`;
      created.push(name);
      await smolvm(smolvmArgv.create({ name }));
      await engine.start(name);
      const result = await probe(name);
      expect(result.exitCode).not.toBe(0);
      expect(result.stdout).not.toContain(`pong-${run}`);
      await engine.remove(name);
    });
  });
});

describeEngineContract(
  'smolvm',
  () => {
    const recorded = recordCalls(createProcessTransport());
    return { engine: new SmolvmEngine({ transport: recorded.transport }), image: 'alpine', calls: recorded.calls };
  },
  reason !== undefined ? { skip: reason } : {},
);

// The bare VM is Alpine with only root in /etc/passwd: the contract's uid-1000 user is numeric
// everywhere it is checked, so the bare image serves.
describeBackendContract(
  'smolvm',
  () => {
    const { transport, calls } = recordCalls(createProcessTransport());
    return { engine: new SmolvmEngine({ transport }), image: 'alpine', calls };
  },
  reason !== undefined ? { skip: reason } : {},
);
