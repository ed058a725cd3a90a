import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../errors.ts';
import { planEnv as planFor } from '../container/env.ts';
import { isDockerCliEnvName } from './env.ts';

const planEnv = (env?: Readonly<Record<string, string>>) => planFor(isDockerCliEnvName, 'docker', env);

describe('docker env delivery', () => {
  it('plain names become -e keys with values for the CLI environment', () => {
    expect(planEnv({ ANTHROPIC_API_KEY: 'sk-1', MODE: 'a b' })).toEqual({
      keys: ['ANTHROPIC_API_KEY', 'MODE'],
      cliEnv: { ANTHROPIC_API_KEY: 'sk-1', MODE: 'a b' },
      envFile: undefined,
    });
    expect(planEnv()).toEqual({ keys: [], cliEnv: {}, envFile: undefined });
  });

  it('names the docker CLI itself reads go to the env-file, never its environment', () => {
    const plan = planEnv({ PATH: '/bin', HOME: '/home/node', DOCKER_HOST: 'tcp://guest:1', https_proxy: 'http://p:3128', TOKEN: 't' });
    expect(plan.keys).toEqual(['TOKEN']);
    expect(plan.cliEnv).toEqual({ TOKEN: 't' });
    expect(plan.envFile).toBe('PATH=/bin\nHOME=/home/node\nDOCKER_HOST=tcp://guest:1\nhttps_proxy=http://p:3128\n');
  });

  it.each(['PATH', 'HOME', 'TMPDIR', 'DOCKER_CONFIG', 'DOCKER_CONTEXT', 'LD_PRELOAD', 'HTTP_PROXY', 'no_proxy', 'SSL_CERT_FILE'])(
    '%s is a CLI name',
    (name) => {
      expect(isDockerCliEnvName(name)).toBe(true);
    },
  );

  it.each(['ANTHROPIC_API_KEY', 'NODE_OPTIONS', 'CLAUDE_CONFIG_DIR', 'PROXY_MODE'])('%s is not', (name) => {
    expect(isDockerCliEnvName(name)).toBe(false);
  });

  it('refuses what neither route can carry', () => {
    expect(() => planEnv({ 'A=B': 'x' })).toThrow(ConfigError);
    expect(() => planEnv({ HOME: 'two\nlines' })).toThrow(ConfigError);
  });
});
