/**
 * pipelock's config file format, transcribed from its source (luckyPipewrench/pipelock):
 * `internal/config/schema.go` (the `Config` struct and its yaml tags), `internal/config/load.go`
 * (strict parse: `yaml.v3` `KnownFields(true)` rejects unknown top-level and nested keys; one YAML
 * document only) and `internal/config/validate.go` (mode, strict-mode allowlist, CIDR rules),
 * as documented in `docs/configuration.md`.
 *
 * The sections claude-bottle writes are modelled field by field and strict. Every other top-level
 * key the struct has is accepted with its contents unchecked, so a documented example config
 * still parses; any key the struct lacks is refused, like pipelock itself refuses it.
 */
import { z } from 'zod';

export const PIPELOCK_MODES = ['strict', 'balanced', 'audit'] as const;

/** `FetchProxy.Monitoring` (yaml tags of `type Monitoring struct`). */
const Monitoring = z.strictObject({
  max_url_length: z.number().int().optional(),
  entropy_threshold: z.number().optional(),
  subdomain_entropy_threshold: z.number().optional(),
  max_requests_per_minute: z.number().int().optional(),
  max_data_per_minute: z.number().int().optional(),
  blocklist: z.array(z.string()).nullish(),
  subdomain_entropy_exclusions: z.array(z.string()).nullish(),
});

/** `type FetchProxy struct`: `listen` is the one address of the fetch and forward proxies. */
const FetchProxy = z.strictObject({
  listen: z.string().optional(),
  timeout_seconds: z.number().int().optional(),
  max_response_mb: z.number().int().optional(),
  user_agent: z.string().optional(),
  monitoring: Monitoring.optional(),
});

/** `type ForwardProxy struct`: CONNECT tunnels and absolute-URI requests, off unless `enabled`. */
const ForwardProxy = z.strictObject({
  enabled: z.boolean().optional(),
  max_tunnel_seconds: z.number().int().optional(),
  idle_timeout_seconds: z.number().int().optional(),
  sni_verification: z.boolean().nullish(),
  redirect_websocket_hosts: z.array(z.string()).nullish(),
});

/** `type TLSInterception struct`. */
const TlsInterception = z.strictObject({
  enabled: z.boolean().optional(),
  ca_cert: z.string().optional(),
  ca_key: z.string().optional(),
  passthrough_domains: z.array(z.string()).nullish(),
  cert_ttl: z.string().optional(),
  cert_cache_size: z.number().int().optional(),
  max_response_bytes: z.number().int().optional(),
});

/** `type SSRF struct`. */
const Ssrf = z.strictObject({ ip_allowlist: z.array(z.string()).nullish() });

const Unchecked = z.unknown().optional();

/** Top-level `type Config struct`, every yaml tag in field order. */
export const PipelockConfigSchema = z.strictObject({
  version: z.number().int().optional(),
  mode: z.enum(PIPELOCK_MODES).optional(),
  enforce: z.boolean().nullish(),
  explain_blocks: z.boolean().nullish(),
  api_allowlist: z.array(z.string()).nullish(),
  suppress: Unchecked,
  fetch_proxy: FetchProxy.optional(),
  forward_proxy: ForwardProxy.optional(),
  websocket_proxy: Unchecked,
  dlp: Unchecked,
  canary_tokens: Unchecked,
  response_scanning: Unchecked,
  mcp_input_scanning: Unchecked,
  mcp_tool_scanning: Unchecked,
  mcp_tool_policy: Unchecked,
  git_protection: Unchecked,
  logging: Unchecked,
  session_profiling: Unchecked,
  adaptive_enforcement: Unchecked,
  mcp_session_binding: Unchecked,
  request_body_scanning: Unchecked,
  kill_switch: Unchecked,
  sentry: Unchecked,
  metrics_listen: z.string().optional(),
  emit: Unchecked,
  tool_chain_detection: Unchecked,
  mcp_ws_listener: Unchecked,
  tls_interception: TlsInterception.optional(),
  cross_request_detection: Unchecked,
  reverse_proxy: Unchecked,
  scan_api: Unchecked,
  address_protection: Unchecked,
  seed_phrase_detection: Unchecked,
  rules: Unchecked,
  file_sentry: Unchecked,
  sandbox: Unchecked,
  flight_recorder: Unchecked,
  mcp_binary_integrity: Unchecked,
  mcp_tool_provenance: Unchecked,
  behavioral_baseline: Unchecked,
  airlock: Unchecked,
  browser_shield: Unchecked,
  media_policy: Unchecked,
  a2a_scanning: Unchecked,
  taint: Unchecked,
  mediation_envelope: Unchecked,
  redaction: Unchecked,
  agents: Unchecked,
  default_agent_identity: z.string().optional(),
  bind_default_agent_identity: z.boolean().optional(),
  license_key: z.string().optional(),
  license_file: z.string().optional(),
  license_public_key: z.string().optional(),
  internal: z.array(z.string()).nullish(),
  trusted_domains: z.array(z.string()).nullish(),
  ssrf: Ssrf.optional(),
});

export type PipelockConfigFile = z.infer<typeof PipelockConfigSchema>;

/** `fetch_proxy.listen` when the file leaves it out (`config.DefaultListen`). */
export const PIPELOCK_DEFAULT_LISTEN = '127.0.0.1:8888';

/** The default `internal` list: addresses pipelock's SSRF check refuses unless trusted. */
export const PIPELOCK_DEFAULT_INTERNAL = [
  '0.0.0.0/8',
  '127.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '169.254.0.0/16',
  '::1/128',
  'fc00::/7',
  'fe80::/10',
  '224.0.0.0/4',
  'ff00::/8',
] as const;

/**
 * The semantic checks of `validate.go` that claude-bottle's configs can trip: the mode, strict
 * mode's non-empty allowlist, canonical non-catch-all `ssrf.ip_allowlist` CIDRs, parseable
 * `internal` CIDRs and, with interception on, its CA paths. Returns the first problem.
 */
export function pipelockConfigProblem(config: PipelockConfigFile): string | undefined {
  const mode = config.mode ?? 'balanced';
  if (mode === 'strict' && !(config.api_allowlist ?? []).length) return 'strict mode requires at least one domain in api_allowlist';
  for (const cidr of config.internal ?? []) {
    if (!parseCidr(cidr)) return `invalid internal CIDR "${cidr}"`;
  }
  for (const cidr of config.ssrf?.ip_allowlist ?? []) {
    const parsed = parseCidr(cidr);
    if (!parsed) return `invalid ssrf.ip_allowlist CIDR "${cidr}"`;
    if (parsed.prefix === 0) return `ssrf.ip_allowlist CIDR "${cidr}" is a catch-all (/0) and would disable SSRF protection`;
    if (!parsed.canonical) return `ssrf.ip_allowlist CIDR "${cidr}" has host bits set (did you mean "${parsed.network}"?)`;
  }
  const listen = config.fetch_proxy?.listen;
  if (listen !== undefined && !splitHostPort(listen)) return `invalid fetch_proxy.listen "${listen}"`;
  return undefined;
}

/** Go's `net.SplitHostPort`, for the forms pipelock accepts: `host:port`, `[v6]:port`. */
export function splitHostPort(value: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value);
  if (!match) return undefined;
  const port = Number(match[3]);
  if (port > 65535) return undefined;
  return { host: match[1] ?? match[2] ?? '', port };
}

export interface ParsedCidr {
  readonly family: 4 | 6;
  readonly bits: bigint;
  readonly prefix: number;
  /** The network address written back, e.g. `10.0.0.0/24`. */
  readonly network: string;
  /** False when host bits are set (`10.0.0.5/24`). */
  readonly canonical: boolean;
}

export function parseIp(text: string): { family: 4 | 6; bits: bigint } | undefined {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4) {
    const parts = v4.slice(1).map(Number);
    if (parts.some((p) => p > 255)) return undefined;
    return { family: 4, bits: parts.reduce((acc, p) => (acc << 8n) | BigInt(p), 0n) };
  }
  if (!text.includes(':') || !/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (part: string | undefined): number[] | undefined => {
    if (!part) return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...Array<number>(halves.length === 1 ? 0 : missing).fill(0), ...tail];
  return { family: 6, bits: all.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n) };
}

export function parseCidr(text: string): ParsedCidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIp(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  const width = ip.family === 4 ? 32 : 128;
  if (prefix > width) return undefined;
  const hostMask = (1n << BigInt(width - prefix)) - 1n;
  const networkBits = ip.bits & ~hostMask;
  return { family: ip.family, bits: networkBits, prefix, network: `${formatIp(ip.family, networkBits)}/${prefix}`, canonical: networkBits === ip.bits };
}

export function cidrContains(cidr: ParsedCidr, ip: { family: 4 | 6; bits: bigint }): boolean {
  if (cidr.family !== ip.family) return false;
  const width = cidr.family === 4 ? 32 : 128;
  return ip.bits >> BigInt(width - cidr.prefix) === cidr.bits >> BigInt(width - cidr.prefix);
}

function formatIp(family: 4 | 6, bits: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((bits >> s) & 0xffn)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => ((bits >> BigInt((7 - i) * 16)) & 0xffffn).toString(16));
  // Compress the longest run of zero groups, as Go and RFC 5952 do.
  let best = { start: -1, len: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > best.len && j - i > 1) best = { start: i, len: j - i };
    i = j;
  }
  if (best.start < 0) return groups.join(':');
  return `${groups.slice(0, best.start).join(':')}::${groups.slice(best.start + best.len).join(':')}`;
}

/** pipelock's domain match (`api_allowlist`, `trusted_domains`): case-insensitive; `*.example.com` also matches `example.com`. */
export function domainMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase();
  const h = host.toLowerCase().replace(/\.$/, '');
  if (p.startsWith('*.')) {
    const apex = p.slice(2);
    return h === apex || h.endsWith(`.${apex}`);
  }
  return h === p;
}
