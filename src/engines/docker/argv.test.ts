import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../errors.ts';
import { checkGuestPath, KEEP_ALIVE } from '../container/argv.ts';
import { dockerArgv } from './argv.ts';

describe('docker argv', () => {
  it('create: never pulls, marks the bottle, and ends with the keep-alive', () => {
    expect(
      dockerArgv.create({
        name: 'rev-1a2b',
        image: 'node:24',
        labels: { agent: 'reviewer', 'claude-bottle': 'ignored' },
        network: 'none',
        user: { uid: 1000, gid: 1000 },
        envKeys: ['TOKEN', 'MODE'],
        envFile: '/tmp/x/env',
        workdir: '/work',
        cpus: 1.5,
        memMib: 512,
      }),
    ).toEqual([
      'docker',
      'create',
      '--pull',
      'never',
      '--name',
      'rev-1a2b',
      '--label',
      'claude-bottle=1',
      '--label',
      'agent=reviewer',
      '--network',
      'none',
      '--user',
      '1000:1000',
      '--env-file',
      '/tmp/x/env',
      '-e',
      'TOKEN',
      '-e',
      'MODE',
      '-w',
      '/work',
      '--cpus',
      '1.5',
      '--memory',
      '512m',
      '--entrypoint',
      'sh',
      'node:24',
      ...KEEP_ALIVE,
    ]);
  });

  it('create on the default network has no --network', () => {
    expect(dockerArgv.create({ name: 'a', image: 'img', network: 'default' })).toEqual([
      'docker',
      'create',
      '--pull',
      'never',
      '--name',
      'a',
      '--label',
      'claude-bottle=1',
      '--entrypoint',
      'sh',
      'img',
      ...KEEP_ALIVE,
    ]);
  });

  it('the keep-alive traps TERM so docker stop is immediate', () => {
    expect(KEEP_ALIVE).toEqual(['-c', 'trap "exit 0" TERM INT; sleep infinity & wait']);
  });

  it('lifecycle verbs', () => {
    expect(dockerArgv.start('m')).toEqual(['docker', 'start', 'm']);
    expect(dockerArgv.stop('m')).toEqual(['docker', 'stop', '-t', '3', 'm']);
    expect(dockerArgv.stop('m', 0)).toEqual(['docker', 'stop', '-t', '0', 'm']);
    expect(dockerArgv.remove('m')).toEqual(['docker', 'rm', '-f', 'm']);
    expect(dockerArgv.copyIn('m')).toEqual(['docker', 'cp', '-', 'm:/']);
    expect(dockerArgv.inspect(['m', 'n'])).toEqual(['docker', 'container', 'inspect', 'm', 'n']);
    expect(dockerArgv.info()).toEqual(['docker', 'info', '--format', '{{json .ServerVersion}}']);
    expect(dockerArgv.serverVersion()).toEqual(['docker', 'version', '--format', '{{.Server.Version}}']);
  });

  it('list filters on the bottle marker and every label', () => {
    expect(dockerArgv.listIds()).toEqual(['docker', 'ps', '-a', '-q', '--no-trunc', '--filter', 'label=claude-bottle=1']);
    expect(dockerArgv.listIds({ agent: 'rev', run: 'a=b' })).toEqual([
      'docker',
      'ps',
      '-a',
      '-q',
      '--no-trunc',
      '--filter',
      'label=claude-bottle=1',
      '--filter',
      'label=agent=rev',
      '--filter',
      'label=run=a=b',
    ]);
  });

  it('exec: options before the name, the guest argv after it untouched', () => {
    expect(
      dockerArgv.exec('m', ['sh', '-c', 'echo "$X"', '--not-a-docker-flag'], {
        stdin: true,
        envKeys: ['X'],
        envFile: '/tmp/e',
        workdir: '/w',
        user: { uid: 0, gid: 0 },
      }),
    ).toEqual(['docker', 'exec', '-i', '--env-file', '/tmp/e', '-e', 'X', '-w', '/w', '--user', '0:0', 'm', 'sh', '-c', 'echo "$X"', '--not-a-docker-flag']);
    expect(dockerArgv.exec('m', ['true'])).toEqual(['docker', 'exec', 'm', 'true']);
    expect(dockerArgv.exec('m', ['sh'], { stdin: true, tty: true })).toEqual(['docker', 'exec', '-i', '-t', 'm', 'sh']);
  });

  it.each([
    ['a name that reads as a flag', () => dockerArgv.start('--rm')],
    ['an empty name', () => dockerArgv.remove('')],
    ['a name with a slash', () => dockerArgv.stop('a/b')],
    ['an env key with =', () => dockerArgv.exec('m', ['true'], { envKeys: ['A=secret'] })],
    ['an env key with a space', () => dockerArgv.exec('m', ['true'], { envKeys: ['A B'] })],
    ['an empty guest command', () => dockerArgv.exec('m', [])],
    ['a relative workdir', () => dockerArgv.exec('m', ['true'], { workdir: 'w' })],
    ['an image that reads as a flag', () => dockerArgv.create({ name: 'm', image: '--privileged', network: 'none' })],
    ['a label key with =', () => dockerArgv.create({ name: 'm', image: 'i', network: 'none', labels: { 'a=b': 'c' } })],
    ['a negative uid', () => dockerArgv.exec('m', ['true'], { user: { uid: -1, gid: 0 } })],
    ['zero cpus', () => dockerArgv.create({ name: 'm', image: 'i', network: 'none', cpus: 0 })],
    ['too little memory', () => dockerArgv.create({ name: 'm', image: 'i', network: 'none', memMib: 1 })],
  ])('refuses %s', (_, build) => {
    expect(build).toThrow(ConfigError);
  });

  it('guest paths are absolute, without . or .. segments or line breaks', () => {
    expect(checkGuestPath('/home/node/.claude/settings.json')).toBe('/home/node/.claude/settings.json');
    for (const bad of ['relative', '/a/../b', '/a/./b', '/a\nb', '/a\0b', '']) expect(() => checkGuestPath(bad)).toThrow(ConfigError);
  });
});
