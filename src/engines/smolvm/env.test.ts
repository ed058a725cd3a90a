import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../errors.ts';
import { checkSmolvmEnv, isSmolvmCliEnvName, smolvmEnvIssues } from './env.ts';

describe('env names smolvm reads itself', () => {
  it.each([
    'PATH',
    'HOME',
    'XDG_DATA_HOME',
    'TMPDIR',
    'LD_PRELOAD',
    'LD_LIBRARY_PATH',
    'DYLD_LIBRARY_PATH',
    'SMOLVM_DATA_DIR',
    'SMOLVM_AGENT_ROOTFS',
    'RUST_LOG',
    'BASH_ENV',
    'BASH_FUNC_dirname%%',
    'SHELLOPTS',
    'BASHOPTS',
    'CDPATH',
  ])('%s is refused', (name) => {
    expect(isSmolvmCliEnvName(name)).toBe(true);
  });

  // What a bottle sets on every exec (egress proxy, CA) and what Claude Code reads must pass.
  it.each([
    'HTTPS_PROXY',
    'https_proxy',
    'NO_PROXY',
    'NODE_USE_ENV_PROXY',
    'SSL_CERT_FILE',
    'NODE_EXTRA_CA_CERTS',
    'GIT_SSL_CAINFO',
    'BASH_DEFAULT_TIMEOUT_MS',
    'ANTHROPIC_API_KEY',
    'CLAUDE_CONFIG_DIR',
  ])('%s reaches the guest', (name) => {
    expect(isSmolvmCliEnvName(name)).toBe(false);
  });

  it('names each entry it cannot carry, and throws before anything runs', () => {
    expect(smolvmEnvIssues({ TOKEN: 't', HOME: '/h', NUL: 'a\0b', https_proxy: 'http://p:1' })).toEqual([
      { path: 'env.HOME', message: expect.stringMatching(/^smolvm reads HOME itself/) },
      { path: 'env.NUL', message: expect.stringMatching(/NUL/) },
    ]);
    expect(() => checkSmolvmEnv({ TOKEN: 't' })).not.toThrow();
    expect(() => checkSmolvmEnv()).not.toThrow();
    let error: unknown;
    try {
      checkSmolvmEnv({ PATH: '/opt/nowhere', RUST_LOG: 'trace' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((i) => i.path)).toEqual(['env.PATH', 'env.RUST_LOG']);
    expect((error as ConfigError).message).toMatch(/^env\.PATH: smolvm reads PATH itself/);
  });
});
