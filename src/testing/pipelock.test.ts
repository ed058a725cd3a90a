import { accessSync, constants } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { findPipelock } from '../daemons/pipelock/daemon.ts';
import { fakePipelockBin } from './pipelock.ts';

describe('fakePipelockBin', () => {
  it('is an executable that findPipelock accepts through PIPELOCK_BIN', () => {
    const bin = fakePipelockBin();
    expect(() => accessSync(bin, constants.X_OK)).not.toThrow();
    expect(findPipelock({ PIPELOCK_BIN: bin })).toBe(bin);
  });
});
