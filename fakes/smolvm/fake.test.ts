import { describe, expect, it, vi } from 'vitest';
import { createFakeSmolvm, type FakeSmolvm } from '../index.ts';
import type { Transport } from '../../src/transport/types.ts';

const boot = async (fake: FakeSmolvm, name = 'vm1'): Promise<void> => {
  await fake.run(['smolvm', 'machine', 'create', '--name', name]);
  await fake.run(['smolvm', 'machine', 'start', '--name', name]);
};

describe('the Transport surface', () => {
  it('is a Transport and accepts a path ending in smolvm', async () => {
    const transport: Transport = createFakeSmolvm();
    const r = await transport.run(['/usr/local/bin/smolvm', '--version']);
    expect(r).toMatchObject({ argv: ['/usr/local/bin/smolvm', '--version'], exitCode: 0, timedOut: false });
    expect(r.stdoutBytes).toEqual(new TextEncoder().encode('smolvm 1.9.2\n'));
    expect(r.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('refuses other programs', async () => {
    await expect(createFakeSmolvm().run(['docker', 'ps'])).rejects.toThrow("fake smolvm cannot run 'docker'");
  });

  it('honours timeoutMs: exit -1, timedOut, and the guest command is killed', async () => {
    const fake = createFakeSmolvm();
    await boot(fake);
    let killed = false;
    fake.registerCommand(
      'slow',
      ({ signal }) =>
        new Promise((resolve) =>
          signal.addEventListener('abort', () => {
            killed = true;
            resolve({ exitCode: 137 });
          }),
        ),
    );
    const t0 = performance.now();
    // Long enough for the guest to reach `slow` on a loaded machine (else nothing is left to kill).
    const r = await fake.run(['smolvm', 'machine', 'exec', '--name', 'vm1', '--', 'sh', '-c', 'echo x > /root/a; slow; echo y > /root/b'], { timeoutMs: 500 });
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(r).toMatchObject({ exitCode: -1, timedOut: true, stdout: '' });
    // The kill lands on the next turns of the event loop; polled, so a loaded machine does not fail it.
    await vi.waitFor(() => expect(killed).toBe(true), { timeout: 2000, interval: 5 });
    // What ran before the kill happened; what came after did not.
    expect(fake.guestFs('vm1').existsSync('/root/a')).toBe(true);
    expect(fake.guestFs('vm1').existsSync('/root/b')).toBe(false);
  });

  it('honours an abort signal: exit -1, not timedOut', async () => {
    const fake = createFakeSmolvm();
    await boot(fake);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const r = await fake.run(['smolvm', 'machine', 'exec', '--name', 'vm1', '--', 'sleep', '5'], { signal: controller.signal });
    expect(r).toMatchObject({ exitCode: -1, timedOut: false });
    const pre = await fake.run(['smolvm', 'machine', 'create', '-n', 'never'], { signal: AbortSignal.abort() });
    expect(pre).toMatchObject({ exitCode: -1, timedOut: false });
    expect(fake.machine('never')).toBeUndefined();
  });

  it('does not capture output under inheritStdio but keeps it in the call log', async () => {
    const fake = createFakeSmolvm();
    await boot(fake);
    const r = await fake.run(['smolvm', 'machine', 'exec', '--name', 'vm1', '-it', '--', 'echo', 'hi'], { inheritStdio: true });
    expect(r).toMatchObject({ exitCode: 0, stdout: '', stderr: '' });
    expect(fake.calls.at(-1)?.terminal).toEqual({ stdout: 'hi\n', stderr: '' });
  });
});

describe('the call log', () => {
  it('records argv, stdin bytes, env names (never values) and the result', async () => {
    const fake = createFakeSmolvm();
    await boot(fake);
    await fake.run(['smolvm', 'machine', 'exec', '--name', 'vm1', '-i', '-e', 'TOKEN', '--', 'cat'], {
      stdin: 'in',
      env: { TOKEN: 'super-secret' },
    });
    const call = fake.calls.at(-1);
    expect(call).toMatchObject({
      argv: ['smolvm', 'machine', 'exec', '--name', 'vm1', '-i', '-e', 'TOKEN', '--', 'cat'],
      envKeys: ['TOKEN'],
      faulted: false,
      result: { exitCode: 0, stdout: 'in' },
    });
    expect(call?.stdinBytes).toEqual(new TextEncoder().encode('in'));
    expect(JSON.stringify(fake.calls)).not.toContain('super-secret');
  });

  it('filters by subcommand prefix, treating vm as machine', async () => {
    const fake = createFakeSmolvm();
    await boot(fake);
    await fake.run(['smolvm', 'vm', 'exec', '--name', 'vm1', '--', 'true']);
    await fake.run(['smolvm', 'machine', 'exec', '--name', 'vm1', '--', 'true']);
    expect(fake.callsMatching(['machine', 'exec'])).toHaveLength(2);
    expect(fake.callsMatching(['machine', 'create'])).toHaveLength(1);
    expect(fake.callsMatching(['machine'])).toHaveLength(4);
  });
});

describe('fault injection', () => {
  it('fails the Nth call from now, once, without side effects', async () => {
    const fake = createFakeSmolvm();
    await fake.run(['smolvm', '--version']);
    fake.injectFault(2, { exitCode: 1, stderr: 'Error: vm not found: x\n' });
    const first = await fake.run(['smolvm', 'machine', 'create', '--name', 'a']);
    const second = await fake.run(['smolvm', 'machine', 'create', '--name', 'b']);
    const third = await fake.run(['smolvm', 'machine', 'create', '--name', 'c']);
    expect([first.exitCode, second.exitCode, third.exitCode]).toEqual([0, 1, 0]);
    expect(second).toMatchObject({ stdout: '', stderr: 'Error: vm not found: x\n' });
    expect(fake.machineNames()).toEqual(['a', 'c']);
    expect(fake.calls.map((c) => c.faulted)).toEqual([false, false, true, false]);
  });

  it('matches by predicate, `times` times', async () => {
    const fake = createFakeSmolvm();
    await boot(fake);
    fake.injectFault((argv) => argv.includes('cp'), { exitCode: 1, stderr: 'boom\n', stdout: 'partial' }, { times: 2 });
    const cp = ['smolvm', 'machine', 'cp', '/nonexistent', 'vm1:/x'];
    const results = [await fake.run(cp), await fake.run(['smolvm', '--version']), await fake.run(cp), await fake.run(cp)];
    expect(results.map((r) => r.stderr)).toEqual([
      'boom\n',
      '',
      'boom\n',
      'Error: agent operation failed: read local file: /nonexistent: No such file or directory (os error 2)\n',
    ]);
    expect(results[0]?.stdout).toBe('partial');
  });

  it('injects a timeout', async () => {
    const fake = createFakeSmolvm();
    fake.injectFault(1, { timeout: true });
    expect(await fake.run(['smolvm', 'machine', 'create', '-n', 'z'])).toMatchObject({ exitCode: -1, timedOut: true });
    expect(fake.machine('z')).toBeUndefined();
  });
});

describe('state export and restore', () => {
  it('round-trips machines and guest files with mode, owner and bytes', async () => {
    const fake = createFakeSmolvm({ generateShortId: () => 'abcd1234' });
    await fake.run(['smolvm', 'machine', 'create', '--label', 'k=v', '-e', 'A=1']);
    await fake.run(['smolvm', 'machine', 'start', '--name', 'vm-abcd1234']);
    await fake.run([
      'smolvm',
      'machine',
      'exec',
      '--name',
      'vm-abcd1234',
      '--',
      'sh',
      '-c',
      'mkdir -p /w && printf "\\001\\377" > /w/bin && chmod 4750 /w/bin && chown 5:6 /w/bin',
    ]);
    await fake.run(['smolvm', 'machine', 'create', '--name', 'idle']);

    const state = JSON.parse(JSON.stringify(fake.exportState())) as ReturnType<FakeSmolvm['exportState']>;
    const bin = state.machines.find((m) => m.record.name === 'vm-abcd1234')?.files.find((f) => f.path === '/w/bin');
    expect(bin).toMatchObject({ type: 'file', mode: 0o4750, uid: 5, gid: 6, content: Buffer.from([1, 255]).toString('base64') });

    const restored = createFakeSmolvm({ state });
    expect(restored.machineNames()).toEqual(['idle', 'vm-abcd1234']);
    expect(restored.machine('vm-abcd1234')).toMatchObject({ state: 'running', labels: { k: 'v' }, env: { A: '1' } });
    const st = await restored.run(['smolvm', 'machine', 'exec', '--name', 'vm-abcd1234', '--', 'stat', '-c', '%a %u %g %s', '/w/bin', '/root', '/tmp']);
    // build-agent-rootfs.sh widens /root to 0755.
    expect(st.stdout).toBe('4750 5 6 2\n755 0 0 0\n1777 0 0 0\n');
    expect(new Uint8Array(restored.guestFs('vm-abcd1234').readFileSync('/w/bin') as Buffer)).toEqual(new Uint8Array([1, 255]));
    expect(restored.exportState()).toEqual(state);
  });

  it('lets tests seed root-only files on an image machine through asGuestRoot', async () => {
    const fake = createFakeSmolvm();
    fake.registerImage('agent:1', { user: '1000' });
    await fake.run(['smolvm', 'machine', 'create', '-n', 'i', '-I', 'agent:1', '--net']);
    await fake.run(['smolvm', 'machine', 'start', '-n', 'i']);
    expect(() => fake.guestFs('i').writeFileSync('/root/seed', 'x')).toThrow(/EACCES/);
    fake.asGuestRoot('i', (fs) => fs.writeFileSync('/root/seed', 'x'));
    expect(fake.asGuestRoot('i', (fs) => String(fs.readFileSync('/root/seed', 'utf8')))).toBe('x');
  });

  it('keeps an image machine running as its user after a restore, without the registry', async () => {
    const fake = createFakeSmolvm();
    fake.registerImage('agent:1', { user: '1000', env: { X: 'y' } });
    await fake.run(['smolvm', 'machine', 'create', '-n', 'i', '-I', 'agent:1', '--net']);
    await fake.run(['smolvm', 'machine', 'start', '-n', 'i']);
    const restored = createFakeSmolvm({ state: fake.exportState() });
    const r = await restored.run(['smolvm', 'machine', 'exec', '--name', 'i', '--', 'sh', '-c', 'id -u; echo $X']);
    expect(r.stdout).toBe('1000\ny\n');
  });
});
