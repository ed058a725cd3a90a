/**
 * The environment that sends a bottle's traffic through its egress proxy: `HTTPS_PROXY` /
 * `HTTP_PROXY` / `NO_PROXY` in both cases (curl and Go read the lowercase names, Node and Python
 * either), `NODE_USE_ENV_PROXY=1` (Node's own fetch and http honour the proxy variables only with
 * it). It travels through the exec environment, never argv. A TLS-intercepting proxy's CA is
 * not this module's: prepare plans it as `plan.ca`, and `caEnv` (./ca.ts) puts its variables in
 * every exec of the bottle, proxied or not.
 */
import { ConfigError } from '../errors.ts';

export const PROXY_ENV_NAMES = ['HTTPS_PROXY', 'HTTP_PROXY', 'https_proxy', 'http_proxy'] as const;
export const NO_PROXY_ENV_NAMES = ['NO_PROXY', 'no_proxy'] as const;
/** Always bypass the proxy for the guest's own loopback. */
export const LOOPBACK_NO_PROXY = ['localhost', '127.0.0.1', '::1'] as const;

export interface ProxyEnvOptions {
  /** The proxy as the guest reaches it, e.g. `http://10.0.0.1:41234` (pipelock speaks plain HTTP to its clients). */
  readonly proxyUrl: string;
  /** Hosts (or `.domain` suffixes, or IPs) to reach directly, e.g. the supervise server's host. Loopback is always added. */
  readonly noProxy?: readonly string[];
}

export function proxyEnv(options: ProxyEnvOptions): Record<string, string> {
  let url: URL;
  try {
    url = new URL(options.proxyUrl);
  } catch {
    url = new URL('invalid:');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    const message = `${JSON.stringify(options.proxyUrl)} is not an http(s) proxy URL`;
    throw new ConfigError(`proxy: ${message}`, [{ path: 'proxy.url', message }]);
  }
  if (url.username || url.password) {
    const message = 'the proxy URL must not carry credentials';
    throw new ConfigError(`proxy: ${message}`, [{ path: 'proxy.url', message }]);
  }
  const noProxy = [...new Set([...LOOPBACK_NO_PROXY, ...(options.noProxy ?? [])])];
  for (const entry of noProxy) {
    if (!entry || /[\s,]/.test(entry)) {
      const message = `${JSON.stringify(entry)} is not a NO_PROXY entry`;
      throw new ConfigError(`proxy: ${message}`, [{ path: 'proxy.noProxy', message }]);
    }
  }
  const env: Record<string, string> = {};
  const proxy = options.proxyUrl.replace(/\/+$/, '');
  for (const name of PROXY_ENV_NAMES) env[name] = proxy;
  for (const name of NO_PROXY_ENV_NAMES) env[name] = noProxy.join(',');
  env.NODE_USE_ENV_PROXY = '1';
  return env;
}
