import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import {
  MAX_ALLOW_CIDRS,
  MAX_ALLOW_HOSTS,
  MAX_ENV_BYTES,
  MAX_ENV_VALUE_BYTES,
  MAX_ENV_VARS,
  MAX_IDENTITY_LENGTH,
  MAX_PATH_BYTES,
  MAX_SKILLS,
} from './limits.ts';
import { parseAgentSpec } from './schema.ts';

function refusal(input: unknown): ConfigError {
  try {
    parseAgentSpec(input);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('accepted');
}

const SECRET = 'sk-do-not-print';
const env = (count: number, value = 'v') => Object.fromEntries(Array.from({ length: count }, (_, i) => [`V${i}`, value]));

describe('every list and string an SDK caller or a file can hand in is capped', () => {
  it(`skills: ${MAX_SKILLS} pass, one more is refused without checking each name`, () => {
    const names = Array.from({ length: MAX_SKILLS }, (_, i) => `s${i}`);
    expect(parseAgentSpec({ name: 'a', skills: names }).skills).toHaveLength(MAX_SKILLS);
    const error = refusal({ name: 'a', skills: [...names, 'BAD NAME'] });
    expect(error.message).toBe(`skills: has more than ${MAX_SKILLS} skills`);
    expect(error.issues).toEqual([{ path: 'skills', message: `has more than ${MAX_SKILLS} skills` }]);
  });

  it(`env: at most ${MAX_ENV_VARS} variables`, () => {
    expect(Object.keys(parseAgentSpec({ name: 'a', env: env(MAX_ENV_VARS) }).env)).toHaveLength(MAX_ENV_VARS);
    expect(refusal({ name: 'a', env: env(MAX_ENV_VARS + 1, SECRET) }).message).toBe(`env: has ${MAX_ENV_VARS + 1} variables; at most ${MAX_ENV_VARS}`);
  });

  it(`env: one value of at most ${MAX_ENV_VALUE_BYTES} bytes, never printed`, () => {
    const big = SECRET + 'x'.repeat(MAX_ENV_VALUE_BYTES);
    const error = refusal({ name: 'a', env: { TOKEN: big } });
    expect(error.message).toBe(`env.TOKEN: is ${big.length} bytes; an env value has at most ${MAX_ENV_VALUE_BYTES}`);
    expect(error.message).not.toContain(SECRET);
    expect(parseAgentSpec({ name: 'a', env: { TOKEN: 'x'.repeat(MAX_ENV_VALUE_BYTES) } }).env.TOKEN).toHaveLength(MAX_ENV_VALUE_BYTES);
  });

  it(`env: ${MAX_ENV_BYTES} bytes of names and values in all`, () => {
    const value = 'x'.repeat(60 * 1024);
    const error = refusal({ name: 'a', env: env(9, value) });
    expect(error.message).toMatch(new RegExp(`^env: holds \\d+ bytes of names and values; at most ${MAX_ENV_BYTES}$`));
  });

  it(`egress lists: at most ${MAX_ALLOW_HOSTS} hosts and ${MAX_ALLOW_CIDRS} networks`, () => {
    const hosts = Array.from({ length: MAX_ALLOW_HOSTS + 1 }, (_, i) => `h${i}.example`);
    expect(refusal({ name: 'a', egress: { allowHosts: hosts } }).message).toBe(`egress.allowHosts: has more than ${MAX_ALLOW_HOSTS} hosts`);
    const cidrs = Array.from({ length: MAX_ALLOW_CIDRS + 1 }, () => '10.0.0.0/8');
    expect(refusal({ name: 'a', egress: { allowCidrs: cidrs } }).message).toBe(`egress.allowCidrs: has more than ${MAX_ALLOW_CIDRS} networks`);
  });

  it(`host paths: at most ${MAX_PATH_BYTES} bytes, the value not echoed`, () => {
    const long = `/${'d'.repeat(MAX_PATH_BYTES)}`;
    for (const [field, input] of [
      ['skillsDir', { skillsDir: long }],
      ['ca.file', { ca: { file: long } }],
      ['git.repo', { git: { repo: long } }],
      ['egress.tls.key', { egress: { allowHosts: ['a.example'], tls: { cert: '/c', key: long } } }],
    ] as const) {
      expect(refusal({ name: 'a', ...input }).message).toBe(`${field}: is ${long.length} bytes long; a path has at most ${MAX_PATH_BYTES}`);
    }
  });

  it('guest paths and images: capped too', () => {
    const long = `/${'d'.repeat(MAX_PATH_BYTES)}`;
    expect(refusal({ name: 'a', user: { name: 'u', uid: 1, gid: 1, home: long } }).message).toContain(`user.home: `);
    expect(refusal({ name: 'a', user: { name: 'u', uid: 1, gid: 1, home: long } }).message).toContain(`is longer than ${MAX_PATH_BYTES} bytes`);
    expect(refusal({ name: 'a', git: { repo: '/r', workspace: long } }).message).toContain('git.workspace: ');
    expect(refusal({ name: 'a', image: 'i'.repeat(MAX_PATH_BYTES + 1) }).message).toBe(
      `image: is ${MAX_PATH_BYTES + 1} bytes long; an image reference has at most ${MAX_PATH_BYTES}`,
    );
  });

  it(`git identity: at most ${MAX_IDENTITY_LENGTH} chars`, () => {
    const error = refusal({ name: 'a', git: { repo: '/r', name: 'n'.repeat(MAX_IDENTITY_LENGTH + 1) } });
    expect(error.message).toBe(`git.name: is ${MAX_IDENTITY_LENGTH + 1} chars long; a git user name has at most ${MAX_IDENTITY_LENGTH}`);
  });

  it('the empty-path hint names what to give, once for every host path field', () => {
    expect(refusal({ name: 'a', skillsDir: '' }).message).toBe('skillsDir: "" is empty; omit skillsDir to use the default');
    expect(refusal({ name: 'a', ca: { file: '' } }).message).toBe('ca.file: "" is empty; name a PEM file holding the CA certificate');
    expect(refusal({ name: 'a', git: { repo: '~/r' } }).message).toContain(`git.repo: "~/r" starts with '~'`);
  });
});

describe('git.serveRefs', () => {
  it('takes refs and ref prefixes', () => {
    const spec = parseAgentSpec({ name: 'a', git: { repo: '/r', serveRefs: ['refs/heads/main', 'refs/tags/*'] } });
    expect(spec.git?.serveRefs).toEqual(['refs/heads/main', 'refs/tags/*']);
  });

  it('refuses what is not a ref under refs/, naming the entry', () => {
    for (const bad of ['main', 'refs/', 'refs/heads/../x', 'refs/heads/a b']) {
      const error = (() => {
        try {
          parseAgentSpec({ name: 'a', git: { repo: '/r', serveRefs: [bad] } });
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(error, bad).toBeInstanceOf(ConfigError);
      expect((error as Error).message, bad).toContain('git.serveRefs[0]: ');
    }
  });
});
