import { describe, expect, it } from 'vitest';
import { createFakeSmolvm } from '../../../fakes/index.ts';
import { ConfigError } from '../../errors.ts';
import { forkFeatures, smolvmForkArgv } from './fork.ts';
import { parseSmolvmVersion } from './version.ts';

const v = (s: string) => parseSmolvmVersion(s);

describe('forkFeatures (smolvm 1.9.x source: src/cli/machine.rs; 1.17: shared/docs/smolvm-cli.md §1a)', () => {
  it('1.9.x forks with fork --golden after start --forkable, read from the source', () => {
    for (const version of ['1.9.0', '1.9.2', '1.9.3']) {
      expect(forkFeatures(v(version))).toEqual({
        confirmed: true,
        verb: 'fork',
        sourceFlag: '--golden',
        startFlag: '--forkable',
        releaseVerb: 'fork-release',
        sourceFrozen: true,
      });
    }
  });

  it('1.17 and later branch --from after start --branchable, UNCONFIRMED', () => {
    for (const version of ['1.17.0', '1.18.2', '2.0.0']) {
      expect(forkFeatures(v(version))).toEqual({
        confirmed: false,
        verb: 'branch',
        sourceFlag: '--from',
        startFlag: '--branchable',
        releaseVerb: 'branch-release',
        sourceFrozen: undefined,
      });
    }
  });

  it('between them, and for an unknown version, keeps 1.9 verbs but claims nothing', () => {
    expect(forkFeatures(v('1.16.9'))).toMatchObject({ confirmed: false, verb: 'fork', sourceFlag: '--golden', sourceFrozen: undefined });
    expect(forkFeatures(undefined)).toMatchObject({ confirmed: false, verb: 'fork', startFlag: '--forkable' });
  });
});

describe('fork argv', () => {
  const v192 = forkFeatures(v('1.9.2'));
  const v117 = forkFeatures(v('1.17.0'));

  it('builds the 1.9 and 1.17 shapes', () => {
    expect(smolvmForkArgv.start('gold', v192)).toEqual(['smolvm', 'machine', 'start', '--name', 'gold', '--forkable']);
    expect(smolvmForkArgv.start('gold', v117)).toEqual(['smolvm', 'machine', 'start', '--name', 'gold', '--branchable']);
    expect(smolvmForkArgv.fork({ source: 'gold', clone: 'c-1', envKeys: ['JOB', 'SEED'] }, v192)).toEqual([
      'smolvm',
      'machine',
      'fork',
      '--golden',
      'gold',
      '--name',
      'c-1',
      '--env',
      'JOB',
      '--env',
      'SEED',
    ]);
    expect(smolvmForkArgv.fork({ source: 'gold', clone: 'c-1' }, v117)).toEqual(['smolvm', 'machine', 'branch', '--from', 'gold', '--name', 'c-1']);
  });

  it('validates names and env keys before anything is spawned', () => {
    expect(() => smolvmForkArgv.start('bad-', v192)).toThrow(ConfigError);
    expect(() => smolvmForkArgv.fork({ source: 'g', clone: '-c' }, v192)).toThrow(/invalid machine name/);
    expect(() => smolvmForkArgv.fork({ source: 'g/x', clone: 'c' }, v192)).toThrow(ConfigError);
    expect(() => smolvmForkArgv.fork({ source: 'g', clone: 'c', envKeys: ['A=1'] }, v192)).toThrow(/environment variable name/);
    expect(() => smolvmForkArgv.fork({ source: 'g', clone: 'g' }, v192)).toThrow(/its own name/);
  });

  it('is accepted by the fake smolvm 1.9.2 end to end: start, fork', async () => {
    const fake = createFakeSmolvm();
    await fake.run(['smolvm', 'machine', 'create', '--name', 'gold']);
    expect((await fake.run(smolvmForkArgv.start('gold', v192))).exitCode).toBe(0);
    const forked = await fake.run(smolvmForkArgv.fork({ source: 'gold', clone: 'c-1', envKeys: ['JOB'] }, v192), { env: { JOB: '7' } });
    expect(forked.exitCode).toBe(0);
    expect(fake.machine('c-1')).toMatchObject({ state: 'running', golden: 'gold', env: { JOB: '7' } });
    expect(fake.machine('gold')?.state).toBe('frozen');
  });
});
