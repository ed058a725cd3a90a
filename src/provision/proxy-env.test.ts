import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import { CA_ENV, caEnv, GUEST_CA_BUNDLE } from './ca.ts';
import { proxyEnv } from './proxy-env.ts';

describe('proxyEnv', () => {
  it('proxy variables in both cases, NO_PROXY with loopback first, NODE_USE_ENV_PROXY; no CA variables without a CA', () => {
    expect(proxyEnv({ proxyUrl: 'http://10.0.0.1:41000/', noProxy: ['10.0.0.1', 'localhost'] })).toEqual({
      HTTPS_PROXY: 'http://10.0.0.1:41000',
      HTTP_PROXY: 'http://10.0.0.1:41000',
      https_proxy: 'http://10.0.0.1:41000',
      http_proxy: 'http://10.0.0.1:41000',
      NO_PROXY: 'localhost,127.0.0.1,::1,10.0.0.1',
      no_proxy: 'localhost,127.0.0.1,::1,10.0.0.1',
      NODE_USE_ENV_PROXY: '1',
    });
  });

  it("a TLS-intercepting proxy's CA variables come from caEnv (CA alone for the additive one, the bundle for the others), never proxyEnv", () => {
    const env = caEnv({ ca: { guestPath: '/usr/local/share/ca-certificates/claude-bottle.crt' } });
    for (const name of CA_ENV.additive) expect(env[name]).toBe('/usr/local/share/ca-certificates/claude-bottle.crt');
    for (const name of CA_ENV.bundle) expect(env[name]).toBe(GUEST_CA_BUNDLE);
    expect(Object.keys(env)).toEqual(
      expect.arrayContaining(['NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE', 'REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE', 'GIT_SSL_CAINFO']),
    );
    // One source for them: proxyEnv sets none, so it cannot disagree with caEnv.
    const proxied = proxyEnv({ proxyUrl: 'http://h:1' });
    for (const name of [...CA_ENV.additive, ...CA_ENV.bundle]) expect(proxied).not.toHaveProperty(name);
  });

  it('refuses non-http URLs, credentials in the URL and bad NO_PROXY entries', () => {
    expect(() => proxyEnv({ proxyUrl: 'socks5://h:1' })).toThrow(ConfigError);
    expect(() => proxyEnv({ proxyUrl: 'nope' })).toThrow(/not an http\(s\) proxy URL/);
    expect(() => proxyEnv({ proxyUrl: 'http://u:secret@h:1' })).toThrow(/must not carry credentials/);
    expect(() => proxyEnv({ proxyUrl: 'http://h:1', noProxy: ['a,b'] })).toThrow(/NO_PROXY entry/);
  });
});
