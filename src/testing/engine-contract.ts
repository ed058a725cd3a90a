/**
 * The behaviour every Engine adapter must show, as one vitest suite. Guest commands are limited
 * to what a busybox `sh` has, so the same suite runs against docker, podman, smolvm and the fakes.
 * What an engine offers beyond the core verbs it declares in `capabilities`; a case needing one
 * the engine lacks is skipped, saying which.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Engine, EngineCapabilities, MachineConfig } from '../engine/types.ts';
import { ClaudeBottleError, ConfigError, EngineCommandError } from '../errors.ts';
import type { TransportFaults } from './doubles.ts';
import { CAPABILITY_REASONS, type ContractTimeouts, DEFAULT_TIMEOUTS } from './options.ts';
import { hostRouteCase, uploadTreeCase } from './engine-capabilities.ts';
import { forkFaultSweep } from './engine-fork-faults.ts';
import { BASE_TOOLS, imageProblems, requirementsError } from './requirements.ts';
import { afterAll, afterEach, beforeAll, describe, expect, it, type TestContext } from './vitest.ts';

export interface EngineUnderTest {
  readonly engine: Engine;
  /**
   * An image the engine has locally, running commands as root by default, with a busybox-like
   * `sh` (`stat -c`, `cat`, `printf`, `id`, …), one of `nc`, `curl`, `wget`, `bash` or `node`
   * when the engine offers a host route, and a uid/gid 1000 user `node` owning `/home/node`.
   */
  readonly image: string;
  /** Every argv the engine sent so far, when its transport is recorded (see `recordCalls`). */
  readonly calls?: () => readonly (readonly string[])[];
  /**
   * Faults on the engine's transport (`injectFaults`, answering as the engine's own failure), with
   * `calls` recorded over it: `recordCalls(faults.transport)`. The fork fault sweep needs them.
   */
  readonly transportFaults?: TransportFaults;
  readonly cleanup?: () => Promise<void>;
}

export interface EngineContractOptions {
  /** Skip the whole suite, visibly, with this reason. */
  readonly skip?: string;
  /** Per-case limits: `case` (default 60 s), `daemons` for the host-route case (120 s), `hook` (120 s). */
  readonly timeouts?: ContractTimeouts;
}

export { recordCalls } from './doubles.ts';

export function describeEngineContract(name: string, makeEngine: () => Promise<EngineUnderTest> | EngineUnderTest, options: EngineContractOptions = {}): void {
  describe(`engine contract: ${name}`, () => {
    const run = randomBytes(3).toString('hex');
    const runLabels = { 'claude-bottle.contract': run };
    const timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    /** Machines made by the case running now; the shared one lives for the whole suite. */
    const machines = new Set<string>();
    let sut: EngineUnderTest | undefined;
    let hostDir = '';
    let shared: Promise<string> | undefined;
    let sharedName: string | undefined;

    const machineName = (role: string): string => {
      const machine = `cbc-${run}-${role}`;
      machines.add(machine);
      return machine;
    };
    const config = (machine: string, extra: Partial<MachineConfig> = {}): MachineConfig => ({
      name: machine,
      image: need(sut).image,
      labels: { ...runLabels, role: machine },
      network: { enabled: false, allowHosts: [], allowCidrs: [] },
      ...extra,
    });
    /** One running machine for the tests that only exec and upload; made before the first case. */
    const sharedMachine = (): Promise<string> =>
      (shared ??= (async () => {
        const machine = `cbc-${run}-shared`;
        sharedName = machine;
        await need(sut).engine.create(config(machine));
        await need(sut).engine.start(machine);
        return machine;
      })());
    const hostFile = async (fileName: string, content: string | Uint8Array): Promise<string> => {
      const path = join(hostDir, fileName);
      await writeFile(path, content);
      return path;
    };
    const sh = async (machine: string, script: string): Promise<string> => {
      const result = await need(sut).engine.exec(machine, ['sh', '-c', script]);
      expect(result, `sh -c ${script}`).toMatchObject({ exitCode: 0, stderr: '' });
      return result.stdout;
    };
    /** What the run's labels find: every machine and network the suite made, leaked ones too. */
    const labelled = async (engine: Engine): Promise<{ machines: string[]; networks: string[] }> => ({
      machines: (await engine.list(runLabels)).map((m) => m.name),
      networks: ((await engine.listNetworks?.(runLabels)) ?? []).map((n) => n.id),
    });

    const test = (
      title: string,
      body: (sut: EngineUnderTest, ctx: TestContext) => Promise<void>,
      caseOptions: { needs?: keyof EngineCapabilities; timeout?: number } = {},
    ): void => {
      it(
        title,
        async (ctx) => {
          if (options.skip !== undefined) return ctx.skip(options.skip);
          if (caseOptions.needs && !need(sut).engine.capabilities[caseOptions.needs]) return ctx.skip(CAPABILITY_REASONS[caseOptions.needs]);
          await body(need(sut), ctx);
        },
        caseOptions.timeout ?? timeouts.case,
      );
    };

    beforeAll(async () => {
      if (options.skip !== undefined) return;
      sut = await makeEngine();
      hostDir = await mkdtemp(join(tmpdir(), 'claude-bottle-contract-'));
      // The image is checked once, in the shared machine, before any case runs.
      const machine = await sharedMachine();
      const problems = await imageProblems(sut.engine, machine, { tools: BASE_TOOLS, probeTool: sut.engine.capabilities.hostRoute });
      const error = requirementsError(`engine contract (${sut.engine.kind})`, sut.image, problems, []);
      if (error) throw error;
    }, timeouts.hook);

    // A case's machines and networks go when it ends, however it ended (a timeout too).
    afterEach(async () => {
      if (!sut) return;
      const { engine } = sut;
      const left = await labelled(engine).catch(() => ({ machines: [], networks: [] }));
      const mine = new Set([...machines, ...left.machines.filter((m) => m !== sharedName)]);
      machines.clear();
      await Promise.all([...mine].map((m) => engine.remove(m).catch(() => undefined)));
      await Promise.all(left.networks.map((n) => engine.removeNetwork?.(n).catch(() => undefined)));
    }, timeouts.hook);

    afterAll(async () => {
      if (!sut) return;
      const { engine } = sut;
      try {
        if (sharedName) await engine.remove(sharedName);
        // Anything still labelled was made after its case's cleanup (a case past its time limit), or not removed.
        const left = await labelled(engine);
        await Promise.all(left.machines.map((m) => engine.remove(m).catch(() => undefined)));
        await Promise.all(left.networks.map((n) => engine.removeNetwork?.(n).catch(() => undefined)));
        const found = [...left.machines.map((m) => `machine ${m}`), ...left.networks.map((n) => `network ${n}`)];
        if (found.length) throw new Error(`engine contract: left behind under claude-bottle.contract=${run}: ${found.join('; ')}`);
      } finally {
        await sut.cleanup?.();
        if (hostDir) await rm(hostDir, { recursive: true, force: true });
      }
    }, timeouts.hook);

    test('create, start, status and list by label', async ({ engine }) => {
      const machine = machineName('life');
      await engine.create(config(machine));
      const created = await engine.status(machine);
      expect(created).toMatchObject({ name: machine, state: 'created' });
      // The engine's own name for the image (docker keeps the ref, podman qualifies it, smolvm a
      // `local:<hash>` for an archive), or null where it reports none (a bare smolvm VM).
      expect(created?.image === null || (typeof created?.image === 'string' && created.image.length > 0), `image ${JSON.stringify(created?.image)}`).toBe(true);
      expect(created?.labels).toMatchObject({ ...runLabels, role: machine });

      await engine.start(machine);
      await engine.start(machine);
      expect((await engine.status(machine))?.state).toBe('running');

      const listed = await engine.list({ ...runLabels, role: machine });
      expect(listed.map((m) => m.name)).toEqual([machine]);
      expect(listed[0]).toMatchObject({ state: 'running', image: created?.image, id: created?.id });
      expect(await engine.list({ ...runLabels, role: 'no-such-role' })).toEqual([]);
    });

    test('stop and remove are idempotent', async ({ engine }) => {
      const machine = machineName('idem');
      await engine.create(config(machine));
      await engine.start(machine);
      await engine.stop(machine);
      expect((await engine.status(machine))?.state).toBe('stopped');
      await engine.stop(machine);
      expect((await engine.status(machine))?.state).toBe('stopped');
      await engine.start(machine);
      expect((await engine.status(machine))?.state).toBe('running');

      await engine.remove(machine); // running: stopped first
      expect(await engine.status(machine)).toBeUndefined();
      await engine.remove(machine);
      await engine.remove(`cbc-${run}-never-created`);
      expect((await engine.list({ ...runLabels, role: machine })).map((m) => m.name)).toEqual([]);
    });

    test('unknown machines: status is undefined, start, stop and exec are not-found', async ({ engine }) => {
      const machine = machineName('gone');
      await engine.create(config(machine));
      await engine.start(machine);
      await engine.remove(machine);
      expect(await engine.status(machine)).toBeUndefined();
      await expectNotFound(engine.exec(machine, ['true']));
      await expectNotFound(engine.start(machine));
      await expectNotFound(engine.stop(machine));
    });

    test('exec returns the guest exit code without throwing', async ({ engine }) => {
      const machine = await sharedMachine();
      expect((await engine.exec(machine, ['sh', '-c', 'exit 0'])).exitCode).toBe(0);
      expect((await engine.exec(machine, ['sh', '-c', 'exit 3'])).exitCode).toBe(3);
      // A guest that prints an error-looking line is still the guest's answer.
      const result = await engine.exec(machine, ['sh', '-c', 'echo "Error: guest says no" >&2; exit 1']);
      expect(result).toMatchObject({ exitCode: 1, stdout: '', stderr: 'Error: guest says no\n' });
    });

    test('a guest binary that does not exist is exit 127, as a shell says it, not an error', async ({ engine }) => {
      const machine = await sharedMachine();
      for (const missing of [`cb-no-such-binary-${run}`, `/no/such/dir/cb-${run}`]) {
        const result = await engine.exec(machine, [missing, 'arg']);
        expect(result, missing).toMatchObject({ exitCode: 127, stdout: '' });
        expect(result.stderr.trim(), `${missing}: the engine's message`).not.toBe('');
      }
      // The same through a shell, for comparison: 127 there too.
      expect((await engine.exec(machine, ['sh', '-c', `cb-no-such-binary-${run}`])).exitCode).toBe(127);
    });

    test('exec separates stdout and stderr', async ({ engine }) => {
      const machine = await sharedMachine();
      const result = await engine.exec(machine, ['sh', '-c', 'echo out; echo err >&2; echo "$0 $1 ${2-none}"', 'zero', 'one two']);
      expect(result).toMatchObject({ exitCode: 0, stdout: 'out\nzero one two none\n', stderr: 'err\n' });
    });

    test('exec stdout is binary-safe', async ({ engine }) => {
      const machine = await sharedMachine();
      const result = await engine.exec(machine, ['printf', '\\000\\001\\377']);
      expect(result.exitCode).toBe(0);
      expect([...result.stdoutBytes]).toEqual([0, 1, 255]);
    });

    test('exec feeds stdin, text and bytes', async ({ engine }) => {
      const machine = await sharedMachine();
      expect((await engine.exec(machine, ['cat'], { stdin: 'hello\nworld\n' })).stdout).toBe('hello\nworld\n');
      const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
      expect([...(await engine.exec(machine, ['cat'], { stdin: bytes })).stdoutBytes]).toEqual([...bytes]);
      // Without stdin the guest reads EOF at once rather than hanging.
      expect(await engine.exec(machine, ['cat'])).toMatchObject({ exitCode: 0, stdout: '' });
    });

    test('exec runs in the given workdir', async ({ engine }) => {
      const machine = await sharedMachine();
      expect((await engine.exec(machine, ['sh', '-c', 'pwd'], { workdir: '/tmp' })).stdout).toBe('/tmp\n');
    });

    test(
      'exec runs as the user asked for',
      async ({ engine }) => {
        const machine = await sharedMachine();
        expect((await engine.exec(machine, ['sh', '-c', 'id -u; id -g'], { user: { uid: 1000, gid: 1000 } })).stdout).toBe('1000\n1000\n');
        expect((await engine.exec(machine, ['id', '-u'])).stdout).toBe('0\n');
      },
      { needs: 'execAsUser' },
    );

    test('env values reach the guest and never argv', async ({ engine, calls }) => {
      const machine = machineName('env');
      const baked = `baked-${run}`;
      const secret = `secret ${run} "quoted" $dollar`;
      await engine.create(config(machine, { env: { CB_BAKED: baked } }));
      await engine.start(machine);
      const result = await engine.exec(machine, ['sh', '-c', 'printf "%s|%s" "$CB_BAKED" "$CB_SECRET"'], { env: { CB_SECRET: secret } });
      expect(result).toMatchObject({ exitCode: 0, stdout: `${baked}|${secret}` });
      if (calls) {
        const leaks = calls().filter((argv) => argv.some((arg) => arg.includes(baked) || arg.includes(secret)));
        expect(leaks).toEqual([]);
      }
    });

    test('env names the engine CLI itself reads (HOME, PATH) reach the guest, or are refused before the engine runs', async ({ engine, calls }) => {
      const machine = await sharedMachine();
      const home = `/tmp/home-${run}`;
      const env = { HOME: home, PATH: `/bin:/usr/bin:/sbin:/usr/sbin:/opt/${run}/bin` };
      // An engine that could pass them only through its own environment (smolvm's `-e KEY`) says so
      // in checkConfig, and its exec refuses them before spawning anything.
      const issues = engine.checkConfig?.({ image: need(sut).image, env, user: { name: 'node', uid: 1000, gid: 1000, home: '/home/node' } }) ?? [];
      if (issues.length) {
        expect(issues.map((i) => i.path)).toEqual(['env.HOME', 'env.PATH']);
        const before = calls?.().length;
        await expect(engine.exec(machine, ['true'], { env })).rejects.toBeInstanceOf(ConfigError);
        if (calls) expect(calls().length).toBe(before);
        expect((await engine.exec(machine, ['true'])).exitCode).toBe(0);
        return;
      }
      const result = await engine.exec(machine, ['sh', '-c', 'printf "%s|%s" "$HOME" "$PATH"'], { env });
      expect(result).toMatchObject({ exitCode: 0, stdout: `${home}|${env.PATH}` });
      if (calls) expect(calls().filter((argv) => argv.some((arg) => arg.includes(home)))).toEqual([]);
    });

    test('upload sets mode and owner exactly', async ({ engine }) => {
      const machine = await sharedMachine();
      const secret = await hostFile('secret', 'for node only\n');
      await engine.upload(machine, secret, '/home/node/secret.txt', { mode: 0o600, uid: 1000, gid: 1000 });
      expect(await sh(machine, "stat -c '%a %u %g' /home/node/secret.txt; cat /home/node/secret.txt")).toBe('600 1000 1000\nfor node only\n');

      const conf = await hostFile('conf', 'shared=1\n');
      await engine.upload(machine, conf, '/etc/cb-contract.conf', { mode: 0o644, uid: 0, gid: 0 });
      expect(await sh(machine, "stat -c '%a %u %g' /etc/cb-contract.conf")).toBe('644 0 0\n');

      const script = await hostFile('script', '#!/bin/sh\necho ran\n');
      await engine.upload(machine, script, '/tmp/cb-contract-script', { mode: 0o755, uid: 0, gid: 0 });
      expect((await engine.exec(machine, ['/tmp/cb-contract-script'])).stdout).toBe('ran\n');
    });

    test('upload is byte-exact', async ({ engine }) => {
      const machine = await sharedMachine();
      const bytes = Uint8Array.from({ length: 3000 }, (_, i) => (i * 7) % 256);
      await engine.upload(machine, await hostFile('bytes', bytes), '/tmp/cb-contract.bin', { mode: 0o644, uid: 0, gid: 0 });
      expect([...(await engine.exec(machine, ['cat', '/tmp/cb-contract.bin'])).stdoutBytes]).toEqual([...bytes]);
    });

    // Who owns a created parent differs: smolvm 1.9 `cp` makes them root's, the container engines
    // too. Callers that need an owned directory create it first (provisioning does).
    test('upload creates missing parents and leaves existing ones alone', async ({ engine }) => {
      const machine = await sharedMachine();
      const before = await sh(machine, "stat -c '%a %u %g' / /tmp /home/node");
      await engine.upload(machine, await hostFile('deep', 'deep\n'), `/tmp/cb-${run}/a/b/deep.txt`, { mode: 0o640, uid: 1000, gid: 1000 });
      expect(await sh(machine, `cat /tmp/cb-${run}/a/b/deep.txt; stat -c '%a %u %g' /tmp/cb-${run}/a/b/deep.txt`)).toBe('deep\n640 1000 1000\n');
      expect(await sh(machine, `stat -c '%F' /tmp/cb-${run} /tmp/cb-${run}/a /tmp/cb-${run}/a/b`)).toBe('directory\n'.repeat(3));

      await engine.upload(machine, await hostFile('nested', 'nested\n'), '/home/node/.cb-contract/settings.json', { mode: 0o600, uid: 1000, gid: 1000 });
      expect(await sh(machine, "stat -c '%a %u %g' /home/node/.cb-contract/settings.json; cat /home/node/.cb-contract/settings.json")).toBe(
        '600 1000 1000\nnested\n',
      );
      expect(await sh(machine, "stat -c '%a %u %g' / /tmp /home/node")).toBe(before);
    });

    test('upload replaces an existing file, mode and owner included', async ({ engine }) => {
      const machine = await sharedMachine();
      const target = `/tmp/cb-${run}-replace.txt`;
      await engine.upload(machine, await hostFile('v1', 'version one, longer\n'), target, { mode: 0o644, uid: 0, gid: 0 });
      await engine.upload(machine, await hostFile('v2', 'v2\n'), target, { mode: 0o600, uid: 1000, gid: 1000 });
      expect(await sh(machine, `cat ${target}; stat -c '%a %u %g' ${target}`)).toBe('v2\n600 1000 1000\n');
    });

    test('upload refuses relative and traversing guest paths', async ({ engine }) => {
      const machine = await sharedMachine();
      const file = await hostFile('refused', 'x');
      for (const guestPath of ['tmp/relative.txt', '/tmp/../etc/escape.txt']) {
        await expect(engine.upload(machine, file, guestPath, { mode: 0o644, uid: 0, gid: 0 })).rejects.toBeInstanceOf(ClaudeBottleError);
      }
      expect((await engine.exec(machine, ['cat', '/etc/escape.txt'])).exitCode).not.toBe(0);
    });

    test('every declared capability comes with its methods', async ({ engine }) => {
      const { capabilities } = engine;
      if (capabilities.treeUpload) expect(typeof engine.uploadTree, 'treeUpload without uploadTree').toBe('function');
      if (capabilities.hostRoute) expect(typeof engine.hostRoute, 'hostRoute without hostRoute()').toBe('function');
      if (capabilities.fork) expect(typeof engine.fork, 'fork without fork()').toBe('function');
      const known = ['egressAllowList', 'execAsUser', 'fork', 'hostRoute', 'treeUpload'];
      expect(
        Object.keys(capabilities).filter((k) => !known.includes(k)),
        'capabilities the suites do not know',
      ).toEqual([]);
      for (const required of ['egressAllowList', 'execAsUser', 'hostRoute', 'treeUpload']) expect(Object.keys(capabilities), required).toContain(required);
    });

    test(
      "uploadTree extracts an archive at /, every entry's mode and owner kept, existing dirs left alone",
      async ({ engine }) => {
        await uploadTreeCase(engine, await sharedMachine(), run, sh);
      },
      { needs: 'treeUpload' },
    );

    test(
      'a host route: a machine joining it reaches a server on bindHost at guestHost; its network goes with removeNetwork',
      async ({ engine }) => {
        const machine = machineName('route');
        await hostRouteCase(engine, machine, run, runLabels, (network) => config(machine, { network }));
      },
      { needs: 'hostRoute', timeout: timeouts.daemons },
    );

    test(
      'a fault at any transport call inside fork rejects with an engine error, leaves no clone or fork base, and the golden usable',
      async ({ engine, calls, transportFaults }, ctx) => {
        if (!transportFaults) return ctx.skip('the engine factory gave no transportFaults: the fork fault sweep needs them');
        await forkFaultSweep(engine, transportFaults, calls, config(machineName('golden')), [machineName('clone1'), machineName('clone2')], runLabels);
      },
      { needs: 'fork', timeout: timeouts.sweep },
    );
  });
}

async function expectNotFound(operation: Promise<unknown>): Promise<void> {
  const error = await operation.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(EngineCommandError);
  expect((error as EngineCommandError).kind).toBe('not-found');
}

function need<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('engine contract: the engine factory did not run (see beforeAll), or a declared capability has no method');
  return value;
}
