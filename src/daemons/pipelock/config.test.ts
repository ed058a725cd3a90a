import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { ConfigError } from '../../errors.ts';
import { pipelockConfig, pipelockConfigYaml } from './config.ts';
import { domainMatches, parseCidr, pipelockConfigProblem, PipelockConfigSchema } from './schema.ts';

const base = { listen: '127.0.0.1:41000', allowHosts: ['api.anthropic.com', '*.github.com'] };

describe('pipelock config generation', () => {
  it("strict mode, the allow-list, forward proxy on the listen address, interception off: one document matching pipelock's schema", () => {
    const text = pipelockConfigYaml(base);
    expect(parseAllDocuments(text)).toHaveLength(1);
    expect(text).not.toMatch(/^---/m);
    const parsed: unknown = parse(text);
    expect(PipelockConfigSchema.parse(parsed)).toEqual({
      version: 1,
      mode: 'strict',
      enforce: true,
      api_allowlist: ['api.anthropic.com', '*.github.com'],
      fetch_proxy: { listen: '127.0.0.1:41000' },
      forward_proxy: { enabled: true, sni_verification: true },
      tls_interception: { enabled: false },
    });
    expect(pipelockConfigProblem(PipelockConfigSchema.parse(parsed))).toBeUndefined();
  });

  it('TLS interception with the CA paths, passthrough domains, CIDRs in ssrf.ip_allowlist; { host, port } listen (IPv6 bracketed)', () => {
    const config = pipelockConfig({
      listen: { host: '::1', port: 41001 },
      allowHosts: ['API.Anthropic.com'],
      allowCidrs: ['10.0.0.0/8', 'fd00::/8'],
      tlsInterception: true,
      caCert: '/state/ca.pem',
      caKey: '/state/ca-key.pem',
      passthroughDomains: ['*.anthropic.com'],
    });
    expect(config).toMatchObject({
      api_allowlist: ['api.anthropic.com'],
      fetch_proxy: { listen: '[::1]:41001' },
      tls_interception: { enabled: true, ca_cert: '/state/ca.pem', ca_key: '/state/ca-key.pem', passthrough_domains: ['*.anthropic.com'] },
      ssrf: { ip_allowlist: ['10.0.0.0/8', 'fd00::/8'] },
    });
  });

  it("bad input is a ConfigError naming the field, like pipelock's own validation", () => {
    const bad = (extra: object) => () => pipelockConfig({ ...base, ...extra });
    expect(bad({ allowHosts: [] })).toThrow(/allowHosts: .*at least one allowed host/);
    expect(bad({ allowHosts: ['ok.com', 'not a host'] })).toThrow(/allowHosts\[1\]/);
    expect(bad({ allowCidrs: ['10.0.0.5/24'] })).toThrow(/allowCidrs\[0\]: .*host bits set; write 10\.0\.0\.0\/24/);
    expect(bad({ allowCidrs: ['0.0.0.0/0'] })).toThrow(/catch-all/);
    expect(bad({ allowCidrs: ['10.0.0.0'] })).toThrow(/not a CIDR/);
    expect(bad({ tlsInterception: true, caCert: '/ca.pem' })).toThrow(/caKey: TLS interception needs an absolute host path/);
    expect(bad({ tlsInterception: true, caCert: 'ca.pem', caKey: '/k.pem' })).toThrow(/caCert/);
    expect(bad({ listen: { host: '127.0.0.1', port: 0 } })).toThrow(ConfigError);
    expect(bad({ listen: 'nohostport' })).toThrow(/invalid fetch_proxy.listen/);
  });
});

describe("the transcribed schema against pipelock's documented configs", () => {
  const documented: unknown = parse(readFileSync(new URL('./fixtures/full-config.yaml', import.meta.url), 'utf8'));

  it('a config setting every modelled key round-trips', () => {
    const parsed = PipelockConfigSchema.parse(documented);
    expect(parsed).toEqual(documented);
    expect(parsed).toMatchObject({ mode: 'strict', fetch_proxy: { listen: '127.0.0.1:18080' }, forward_proxy: { enabled: true } });
    expect(pipelockConfigProblem(parsed)).toBeUndefined();
    expect(PipelockConfigSchema.parse(parse(pipelockConfigYaml(base)))).toBeTruthy();
  });

  it('unknown keys are refused at the top level and in every modelled section (pipelock parses with KnownFields)', () => {
    const doc = documented as Record<string, Record<string, unknown>>;
    expect(PipelockConfigSchema.safeParse({ ...doc, allow_hosts: ['x'] }).success).toBe(false);
    expect(PipelockConfigSchema.safeParse({ ...doc, fetch_proxy: { ...doc.fetch_proxy, listen_addr: 'x' } }).success).toBe(false);
    expect(PipelockConfigSchema.safeParse({ ...doc, forward_proxy: { ...doc.forward_proxy, trusted_domains: [] } }).success).toBe(false);
    expect(PipelockConfigSchema.safeParse({ ...doc, tls_interception: { enabled: true, ca: '/x' } }).success).toBe(false);
    expect(PipelockConfigSchema.safeParse({ ...doc, ssrf: { allowlist: [] } }).success).toBe(false);
    expect(PipelockConfigSchema.safeParse({ ...doc, mode: 'paranoid' }).success).toBe(false);
  });

  it('validate.go rules: strict needs an allowlist; CIDRs canonical, not /0', () => {
    expect(pipelockConfigProblem({ mode: 'strict' })).toMatch(/strict mode requires at least one domain in api_allowlist/);
    expect(pipelockConfigProblem({ ssrf: { ip_allowlist: ['10.0.0.5/24'] } })).toMatch(/has host bits set \(did you mean "10.0.0.0\/24"\?\)/);
    expect(pipelockConfigProblem({ ssrf: { ip_allowlist: ['::/0'] } })).toMatch(/catch-all/);
    expect(pipelockConfigProblem({ internal: ['nope'] })).toMatch(/invalid internal CIDR/);
  });

  it('CIDR and domain helpers', () => {
    expect(parseCidr('fd00:1::5/32')).toMatchObject({ family: 6, canonical: false, network: 'fd00:1::/32' });
    expect(parseCidr('2001:db8::/32')).toMatchObject({ canonical: true, network: '2001:db8::/32' });
    expect(parseCidr('300.0.0.0/8')).toBeUndefined();
    expect(domainMatches('*.example.com', 'example.com')).toBe(true);
    expect(domainMatches('*.example.com', 'API.example.com')).toBe(true);
    expect(domainMatches('*.example.com', 'badexample.com')).toBe(false);
    expect(domainMatches('github.com', 'api.github.com')).toBe(false);
  });
});
