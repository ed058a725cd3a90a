import { describe, expect, it } from 'vitest';
import { createFakeSmolvm } from '../index.ts';
import { smolvmDataDir } from './data-dir.ts';

describe('smolvmDataDir: dirs::data_local_dir()/smolvm from smolvm’s own environment', () => {
  it('Linux: XDG_DATA_HOME when absolute, else HOME/.local/share, SMOLVM_DATA_DIR standing in for HOME', () => {
    expect(smolvmDataDir({ HOME: '/home/u' }, 'linux')).toBe('/home/u/.local/share/smolvm');
    expect(smolvmDataDir({ HOME: '/home/u', XDG_DATA_HOME: '/data' }, 'linux')).toBe('/data/smolvm');
    expect(smolvmDataDir({ HOME: '/home/u', XDG_DATA_HOME: 'relative' }, 'linux')).toBe('/home/u/.local/share/smolvm');
    expect(smolvmDataDir({ HOME: '/home/u', SMOLVM_DATA_DIR: '/var/lib/smolvm' }, 'linux')).toBe('/var/lib/smolvm/.local/share/smolvm');
    expect(smolvmDataDir({}, 'linux')).toBe('~/.local/share/smolvm');
  });

  it('macOS: HOME/Library/Application Support, whatever XDG says', () => {
    expect(smolvmDataDir({ HOME: '/Users/u', XDG_DATA_HOME: '/data' }, 'darwin')).toBe('/Users/u/Library/Application Support/smolvm');
  });
});

describe('a call whose environment moves HOME opens another machine database', () => {
  it('so `-e HOME` with a guest value loses the machine, as real smolvm does', async () => {
    const fake = createFakeSmolvm({ env: { HOME: '/home/host' } });
    await fake.run(['smolvm', 'machine', 'create', '--name', 'vm1']);
    await fake.run(['smolvm', 'machine', 'start', '--name', 'vm1']);
    const moved = await fake.run(['smolvm', 'machine', 'exec', '--name', 'vm1', '-e', 'HOME', '--', 'true'], { env: { HOME: '/tmp/guest-home' } });
    expect(moved).toMatchObject({ exitCode: 1, stderr: 'Error: vm not found: vm1\n' });
    // The same HOME, given again per call, is the same database.
    const same = await fake.run(['smolvm', 'machine', 'exec', '--name', 'vm1', '-e', 'HOME', '--', 'sh', '-c', 'echo $HOME'], { env: { HOME: '/home/host' } });
    expect(same).toMatchObject({ exitCode: 0, stdout: '/home/host\n' });
  });

  it('keeps what is made there apart, and shares the host’s guest programs', async () => {
    const fake = createFakeSmolvm();
    fake.registerCommand('hello', () => ({ exitCode: 0, stdout: 'hi\n' }));
    const elsewhere = { env: { XDG_DATA_HOME: '/elsewhere' } };
    await fake.run(['smolvm', 'machine', 'create', '--name', 'vm2'], elsewhere);
    await fake.run(['smolvm', 'machine', 'start', '--name', 'vm2'], elsewhere);
    expect(fake.machineNames()).toEqual([]);
    expect((await fake.run(['smolvm', 'machine', 'ls', '--json'])).stdout).toBe('[]\n');
    expect(JSON.parse((await fake.run(['smolvm', 'machine', 'ls', '--json'], elsewhere)).stdout)).toMatchObject([{ name: 'vm2', state: 'running' }]);
    expect((await fake.run(['smolvm', 'machine', 'exec', '--name', 'vm2', '--', 'hello'], elsewhere)).stdout).toBe('hi\n');
  });
});
