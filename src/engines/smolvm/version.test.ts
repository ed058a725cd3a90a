import { describe, expect, it } from 'vitest';
import { missingFeatures, parseSmolvmVersion } from './version.ts';

describe('smolvm version', () => {
  it('parses clap --version output', () => {
    expect(parseSmolvmVersion('smolvm 1.9.2\n')).toMatchObject({ major: 1, minor: 9, patch: 2, raw: '1.9.2' });
    expect(parseSmolvmVersion('smolvm v1.17.0-rc1')).toMatchObject({ major: 1, minor: 17, patch: 0 });
    expect(parseSmolvmVersion('nonsense')).toBeUndefined();
  });

  it('reports what an old version lacks', () => {
    expect(missingFeatures(parseSmolvmVersion('smolvm 1.8.3')!)).toEqual([expect.stringContaining('--mode/--uid/--gid')]);
    expect(missingFeatures(parseSmolvmVersion('smolvm 1.9.0')!)).toEqual([]);
    expect(missingFeatures(parseSmolvmVersion('smolvm 2.0.0')!)).toEqual([]);
  });
});
