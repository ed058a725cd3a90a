import { describe, expect, it } from 'vitest';
import { cliEnvNames, spawnEnvNames } from './env.ts';

describe('names an engine CLI reads itself', () => {
  const spawn = spawnEnvNames(['SMOLVM_'], ['BASH_ENV']);
  const cli = cliEnvNames(['DOCKER_'], ['EXTRA']);

  it.each(['PATH', 'HOME', 'TMPDIR', 'XDG_CONFIG_HOME', 'XDG_RUNTIME_DIR', 'XDG_DATA_HOME', 'LD_PRELOAD', 'LD_LIBRARY_PATH'])(
    'every spawn reads %s',
    (name) => {
      expect(spawn(name)).toBe(true);
      expect(cli(name)).toBe(true);
    },
  );

  it('adds the given prefixes and names, each to its own list', () => {
    expect([spawn('SMOLVM_DATA_DIR'), spawn('BASH_ENV'), spawn('DOCKER_HOST'), spawn('EXTRA')]).toEqual([true, true, false, false]);
    expect([cli('DOCKER_HOST'), cli('EXTRA'), cli('SMOLVM_DATA_DIR'), cli('BASH_ENV')]).toEqual([true, true, false, false]);
  });

  it('a CLI that connects also reads TLS trust and proxies; a bare spawn does not', () => {
    for (const name of ['SSL_CERT_FILE', 'SSL_CERT_DIR', 'HTTPS_PROXY', 'https_proxy', 'NO_PROXY', 'all_proxy']) {
      expect([name, cli(name)]).toEqual([name, true]);
      expect([name, spawn(name)]).toEqual([name, false]);
    }
  });

  it.each(['ANTHROPIC_API_KEY', 'NODE_EXTRA_CA_CERTS', 'PROXY_MODE', 'MY_PATH', 'XDG_CACHE_HOME', 'home'])('%s is a guest name only', (name) => {
    expect(spawn(name)).toBe(false);
    expect(cli(name)).toBe(false);
  });
});
