import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../errors.ts';
import { humantime, smolvmArgv } from './argv.ts';

describe('smolvm argv', () => {
  it('create puts the name in --name and every option before --', () => {
    expect(
      smolvmArgv.create({
        name: 'rev-1a2b',
        image: 'node:24',
        net: true,
        allowHosts: ['api.anthropic.com'],
        allowCidrs: ['10.0.0.0/8'],
        envKeys: ['TOKEN'],
        workdir: '/work',
        volumes: [{ host: '/h/src', guest: '/src', readOnly: true }],
        ports: [{ host: 8080, guest: 80 }],
        cpus: 2,
        memMib: 1024,
        labels: { 'claude-bottle': '1' },
        workload: ['sleep', 'infinity'],
      }),
    ).toEqual([
      'smolvm',
      'machine',
      'create',
      '--name',
      'rev-1a2b',
      '--image',
      'node:24',
      '--net',
      '--allow-host',
      'api.anthropic.com',
      '--allow-cidr',
      '10.0.0.0/8',
      '--env',
      'TOKEN',
      '--workdir',
      '/work',
      '--volume',
      '/h/src:/src:ro',
      '--port',
      '8080:80',
      '--cpus',
      '2',
      '--mem',
      '1024',
      '--label',
      'claude-bottle=1',
      '--',
      'sleep',
      'infinity',
    ]);
  });

  it('a bare create has only the name', () => {
    expect(smolvmArgv.create({ name: 'a' })).toEqual(['smolvm', 'machine', 'create', '--name', 'a']);
  });

  it('lifecycle verbs', () => {
    expect(smolvmArgv.start('m')).toEqual(['smolvm', 'machine', 'start', '--name', 'm']);
    expect(smolvmArgv.stop('m')).toEqual(['smolvm', 'machine', 'stop', '--name', 'm']);
    expect(smolvmArgv.delete('m')).toEqual(['smolvm', 'machine', 'delete', '--name', 'm', '-f']);
    expect(smolvmArgv.status('m')).toEqual(['smolvm', 'machine', 'status', '--name', 'm', '--json']);
    expect(smolvmArgv.ls()).toEqual(['smolvm', 'machine', 'ls', '--json']);
    expect(smolvmArgv.version()).toEqual(['smolvm', '--version']);
  });

  it('cp upload carries mode in octal, uid and gid; download carries none', () => {
    expect(smolvmArgv.upload('/h/p.txt', 'm', '/root/p.txt', { mode: 0o600, uid: 1000, gid: 1000 })).toEqual([
      'smolvm',
      'machine',
      'cp',
      '/h/p.txt',
      'm:/root/p.txt',
      '--mode',
      '600',
      '--uid',
      '1000',
      '--gid',
      '1000',
    ]);
    expect(smolvmArgv.upload('/h/x', 'm', '/x', { mode: 0o55 })).toContain('055');
    expect(smolvmArgv.download('m', '/etc/os-release', '/tmp/o')).toEqual(['smolvm', 'machine', 'cp', 'm:/etc/os-release', '/tmp/o']);
  });

  it('exec: long --name, env names only, -- before the guest argv', () => {
    expect(smolvmArgv.exec('m', ['--weird', 'arg'], { envKeys: ['A', 'B'], workdir: '/w', timeoutMs: 30_000, interactive: true })).toEqual([
      'smolvm',
      'machine',
      'exec',
      '--name',
      'm',
      '--env',
      'A',
      '--env',
      'B',
      '--workdir',
      '/w',
      '--timeout',
      '30s',
      '--interactive',
      '--',
      '--weird',
      'arg',
    ]);
  });

  it('humantime keeps whole seconds and milliseconds', () => {
    expect(humantime(5000)).toBe('5s');
    expect(humantime(1500)).toBe('1500ms');
    expect(() => humantime(0)).toThrow(ConfigError);
  });

  it.each([
    ['', 'must be 1-128'],
    ['-lead', 'must start'],
    ['trail-', 'must not end'],
    ['a--b', '--'],
    ['a/b', 'letters, digits'],
    ['a:b', 'letters, digits'],
    ['x'.repeat(129), '1-128'],
  ])('refuses machine name %j before spawning', (name, why) => {
    expect(() => smolvmArgv.start(name)).toThrow(why);
  });

  it.each([['relative/p'], ['/a/../b'], ['/a/./b']])('refuses guest path %j', (guest) => {
    expect(() => smolvmArgv.upload('/h', 'm', guest)).toThrow(ConfigError);
    expect(() => smolvmArgv.download('m', guest, '/h')).toThrow(ConfigError);
  });

  it('refuses a host path with ":" (smolvm would read it as MACHINE:PATH)', () => {
    expect(() => smolvmArgv.upload('./a:b', 'm', '/x')).toThrow(/MACHINE:PATH/);
    expect(() => smolvmArgv.download('m', '/x', 'C:\\x')).toThrow(/MACHINE:PATH/);
    expect(() => smolvmArgv.create({ name: 'm', volumes: [{ host: '/a:b', guest: '/g' }] })).toThrow(ConfigError);
  });

  it('refuses env names that are not identifiers, and an empty exec', () => {
    expect(() => smolvmArgv.exec('m', ['true'], { envKeys: ['A=B'] })).toThrow(ConfigError);
    expect(() => smolvmArgv.exec('m', [])).toThrow(ConfigError);
  });
});
