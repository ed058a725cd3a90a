import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memfs } from 'memfs';
import { afterEach, beforeEach, describe, expect, expectTypeOf, it } from 'vitest';
import type { GuestUser } from '../engine/types.ts';
import { ConfigError } from '../errors.ts';
import { prepare } from '../plan/prepare.ts';
import { type AgentSpec, loadAgentFile, MAX_PROMPT_BYTES, parseAgentSpec } from './spec.ts';

let tmp: string;
let stateDir: string;
let env: Record<string, string>;

beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'claude-bottle-spec-'));
  stateDir = join(tmp, 'state');
  env = { CLAUDE_BOTTLE_STATE_DIR: stateDir, HOME: join(tmp, 'home') };
});

afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function agentFile(name: string, content: string | Uint8Array): Promise<string> {
  const path = join(tmp, name);
  await writeFile(path, content);
  return path;
}

/** What `claude-bottle launch` does before any machine exists. */
async function loadAndPrepare(path: string) {
  return prepare(await loadAgentFile(path), { env, homedir: join(tmp, 'home') });
}

async function configError(promise: Promise<unknown>): Promise<ConfigError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

describe('parseAgentSpec', () => {
  it('applies defaults to a minimal spec', () => {
    expect(parseAgentSpec({ name: 'reviewer' })).toEqual({
      name: 'reviewer',
      prompt: '',
      skills: [],
      image: 'alpine',
      user: { name: 'root', uid: 0, gid: 0, home: '/root' },
      env: {},
    });
  });

  it('keeps every field of a full spec', () => {
    const input = {
      name: 'code-reviewer-2',
      prompt: 'Review the diff.\n',
      skills: ['git', 'lint-js'],
      skillsDir: '/opt/skills',
      image: 'ghcr.io/acme/agent:1.2@sha256:abc',
      user: { name: 'agent', uid: 1000, gid: 1000, home: '/home/agent' },
      env: { TOKEN: 's3cret', _X1: '' },
    };
    expect(parseAgentSpec(input)).toEqual(input);
  });

  it('accepts the edges: 48-char name, 64-char skill, prompt of exactly 256 KiB, uid 2^31-1', () => {
    const spec = parseAgentSpec({
      name: 'a'.repeat(48),
      skills: ['s'.repeat(64)],
      prompt: 'p'.repeat(MAX_PROMPT_BYTES),
      user: { name: 'u', uid: 2 ** 31 - 1, gid: 0, home: '/' },
    });
    expect(spec.name).toHaveLength(48);
  });

  it('counts the prompt limit in UTF-8 bytes, not characters', () => {
    const fits = 'é'.repeat(MAX_PROMPT_BYTES / 2);
    expect(parseAgentSpec({ name: 'a', prompt: fits }).prompt).toBe(fits);
    const error = (() => {
      try {
        parseAgentSpec({ name: 'a', prompt: `${fits}x` });
      } catch (e) {
        return e as ConfigError;
      }
      return undefined;
    })();
    expect(error?.message).toBe(`prompt: is ${MAX_PROMPT_BYTES + 1} bytes of UTF-8; a prompt holds at most ${MAX_PROMPT_BYTES} (256 KiB)`);
  });

  it('reports every issue, one line each, with path and value, in error.issues too', () => {
    let error: ConfigError | undefined;
    try {
      parseAgentSpec({ name: 'Bad', skills: ['ok', '../etc'], image: 'a b', promt: 'typo' }, 'agent.yaml');
    } catch (e) {
      error = e as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const lines = error?.message.split('\n') ?? [];
    expect(lines).toHaveLength(4);
    expect(lines).toContain(`agent.yaml: skills[1]: "../etc" is not a valid skill name: it has a path separator (lowercase a-z, 0-9 and '-', 1-64 chars)`);
    expect(lines.some((l) => l.startsWith('agent.yaml: name: "Bad" is not a valid agent name: it has uppercase letters'))).toBe(true);
    expect(lines).toContain('agent.yaml: image: "a b" has whitespace; an image reference has none');
    expect(lines.some((l) => l.startsWith('agent.yaml: promt: is not a known field; did you mean "prompt"?'))).toBe(true);
    expect(error?.issues.map((i) => i.path).sort()).toEqual(['image', 'name', 'promt', 'skills[1]']);
  });

  it('truncates long values in messages', () => {
    const long = `x${'y'.repeat(5000)}`;
    try {
      parseAgentSpec({ name: long });
      expect.unreachable();
    } catch (e) {
      const message = (e as Error).message;
      expect(message).toContain('(5001 chars)');
      expect(message.length).toBeLessThan(300);
    }
  });

  it('infers a user type the engine accepts', () => {
    expectTypeOf<AgentSpec['user']>().toExtend<GuestUser>();
    const user: GuestUser = parseAgentSpec({ name: 'a' }).user;
    expect(user.home).toBe('/root');
  });
});

describe('env values never appear in errors', () => {
  const SECRET = 'sk-live-0123456789abcdef';

  const cases: [string, string, string][] = [
    ['a value of the wrong type', `name: rev\nenv:\n  TOKEN: [${SECRET}]\n`, 'env.TOKEN: expected a string, got a list'],
    ['a numeric value', `name: rev\nenv:\n  PIN: 1234567890123\n`, 'env.PIN: expected a string, got a number'],
    ['env not a mapping', `name: rev\nenv: "TOKEN=${SECRET}"\n`, 'env: expected a mapping, got a string'],
    ['a bad key beside a secret', `name: rev\nenv:\n  my-token: ${SECRET}\n`, 'env["my-token"]: is not a valid environment variable name'],
    ['another field wrong', `name: REV\nenv:\n  TOKEN: ${SECRET}\n`, 'name: "REV" is not a valid agent name'],
    ['a YAML error on the secret line', `name: rev\nenv:\n  TOKEN: "${SECRET}\n`, 'YAML syntax error'],
    ['a YAML error after the secret', `name: rev\nenv: { TOKEN: ${SECRET}: x }\n`, 'YAML syntax error'],
  ];

  it.each(cases)('%s', async (_what, content, expected) => {
    const error = await configError(loadAgentFile(await agentFile('agent.yaml', content)));
    expect(error.message).toContain(expected);
    expect(error.message).not.toContain(SECRET);
    expect(error.message).not.toContain('1234567890123');
    expect(JSON.stringify(error.issues)).not.toContain(SECRET);
  });

  it('a JSON syntax error next to a secret', async () => {
    const path = await agentFile('agent.json', `{"name": "rev", "env": {"TOKEN": ${SECRET}}}`);
    const error = await configError(loadAgentFile(path));
    expect(error.message).toMatch(/agent\.json:1:\d+: JSON syntax error/);
    expect(error.message).not.toContain(SECRET);
  });

  it('an env value with a NUL byte', () => {
    expect(() => parseAgentSpec({ name: 'a', env: { TOKEN: `${SECRET}\u0000` } })).toThrow(/^env\.TOKEN: has a NUL byte/);
    try {
      parseAgentSpec({ name: 'a', env: { TOKEN: `${SECRET}\u0000` } });
    } catch (e) {
      expect((e as Error).message).not.toContain(SECRET);
    }
  });
});

describe('bad agent files are refused, naming the field and value, and create nothing', () => {
  const long49 = 'a'.repeat(49);
  const bigPrompt = 'x'.repeat(300 * 1024);
  /** [what, file name, content, substrings the message must have] */
  const cases: [string, string, string, string[]][] = [
    ['name with a space', 'a.yaml', 'name: Bad Name\n', ['a.yaml: name: "Bad Name" is not a valid agent name']],
    ['uppercase name', 'a.yaml', 'name: Reviewer\n', ['name: "Reviewer"', 'uppercase']],
    ['name too long', 'a.yaml', `name: ${long49}\n`, ['name:', 'is 49 chars long', '1-48']],
    ['name with --', 'a.yaml', 'name: code--reviewer\n', ['name: "code--reviewer"', "has '--'"]],
    ['name with trailing -', 'a.yaml', 'name: reviewer-\n', ['name: "reviewer-"', "ends with '-'"]],
    ['name with leading -', 'a.yaml', 'name: -reviewer\n', ['name: "-reviewer"', "starts with '-'"]],
    ['name with a dot', 'a.yaml', 'name: my.agent\n', ['name: "my.agent"', 'other than a-z']],
    ['empty name', 'a.yaml', 'name: ""\n', ['name: "" is not a valid agent name: it is empty']],
    ['missing name', 'a.yaml', 'prompt: hi\n', ['a.yaml: name: is required']],
    ['name not a string', 'a.yaml', 'name: 42\n', ['name: expected a string, got a number 42']],
    ['prompt too big', 'a.yaml', `name: rev\nprompt: ${bigPrompt}\n`, ['prompt: is 307200 bytes', 'at most 262144']],
    ['prompt not a string', 'a.yaml', 'name: rev\nprompt: [a, b]\n', ['prompt: expected a string, got a list']],
    ['skills not a list', 'a.yaml', 'name: rev\nskills: git\n', ['skills: expected a list, got a string "git"']],
    ['skill ../x', 'a.yaml', 'name: rev\nskills: [git, ../x]\n', ['skills[1]: "../x" is not a valid skill name', 'path separator']],
    ['skill a/b', 'a.yaml', 'name: rev\nskills: [a/b]\n', ['skills[0]: "a/b"', 'path separator']],
    ['skill with backslash', 'a.yaml', 'name: rev\nskills: ["a\\\\b"]\n', ['skills[0]: "a\\\\b"', 'path separator']],
    ['uppercase skill', 'a.yaml', 'name: rev\nskills: [Git]\n', ['skills[0]: "Git"', 'uppercase']],
    ['skill too long', 'a.yaml', `name: rev\nskills: [${'s'.repeat(65)}]\n`, ['skills[0]: "sss', '(65 chars)', 'is 65 chars long']],
    ['empty skill name', 'a.yaml', 'name: rev\nskills: [""]\n', ['skills[0]: "" is not a valid skill name: it is empty']],
    ['duplicate skills', 'a.yaml', 'name: rev\nskills: [git, lint, git]\n', ['skills[2]: "git" is listed twice (also skills[0])']],
    ['skill not a string', 'a.yaml', 'name: rev\nskills: [1]\n', ['skills[0]: expected a string, got a number 1']],
    ['empty image', 'a.yaml', 'name: rev\nimage: ""\n', ['image: "" is empty']],
    ['image with spaces', 'a.yaml', 'name: rev\nimage: alpine latest\n', ['image: "alpine latest" has whitespace']],
    ['relative home', 'a.yaml', 'name: rev\nuser: {name: a, uid: 1, gid: 1, home: home/a}\n', ['user.home: "home/a"', 'not absolute']],
    ['home with ..', 'a.yaml', 'name: rev\nuser: {name: a, uid: 1, gid: 1, home: /home/../etc}\n', ['user.home: "/home/../etc"', "'..'"]],
    ['home with :', 'a.yaml', 'name: rev\nuser: {name: a, uid: 1, gid: 1, home: "/home/a:b"}\n', ['user.home: "/home/a:b"', "':'"]],
    ['negative uid', 'a.yaml', 'name: rev\nuser: {name: a, uid: -1, gid: 1, home: /h}\n', ['user.uid: -1 is not a valid uid']],
    ['non-integer uid', 'a.yaml', 'name: rev\nuser: {name: a, uid: 1.5, gid: 1, home: /h}\n', ['user.uid: 1.5 is not a valid uid']],
    ['uid as a string', 'a.yaml', 'name: rev\nuser: {name: a, uid: "1000", gid: 1, home: /h}\n', ['user.uid: expected a number, got a string "1000"']],
    ['gid too large', 'a.yaml', 'name: rev\nuser: {name: a, uid: 1, gid: 4294967296, home: /h}\n', ['user.gid: 4294967296 is not a valid gid']],
    ['bad user name', 'a.yaml', 'name: rev\nuser: {name: "-x y", uid: 1, gid: 1, home: /h}\n', ['user.name: "-x y" is not a valid user name']],
    ['user field missing', 'a.yaml', 'name: rev\nuser: {name: a, uid: 1, home: /h}\n', ['user.gid: is required']],
    ['unknown user field', 'a.yaml', 'name: rev\nuser: {name: a, uid: 1, gid: 1, home: /h, shell: sh}\n', ['user.shell: is not a known field']],
    ['bad env key', 'a.yaml', 'name: rev\nenv: {MY-VAR: x}\n', ['env["MY-VAR"]: is not a valid environment variable name']],
    ['env key starting with a digit', 'a.yaml', 'name: rev\nenv: {1X: x}\n', ['env["1X"]: is not a valid environment variable name']],
    ['env value not a string', 'a.yaml', 'name: rev\nenv: {PORT: 8080}\n', ['env.PORT: expected a string, got a number']],
    ['unknown top-level key', 'a.yaml', 'name: rev\npromt: hi\n', ['promt: is not a known field; did you mean "prompt"?']],
    ['skillsDir with ~', 'a.yaml', 'name: rev\nskillsDir: ~/skills\n', ['skillsDir: "~/skills" starts with \'~\'']],
    ['YAML syntax error', 'a.yaml', 'name: rev\nskills: [git\nimage: alpine\n', ['a.yaml:', 'YAML syntax error']],
    ['YAML nested mapping error', 'a.yaml', 'name: rev\nimage: a: b\n', ['a.yaml:2:', 'YAML syntax error']],
    ['duplicate YAML key', 'a.yaml', 'name: rev\nname: other\n', ['a.yaml:2:', 'Map keys must be unique']],
    ['empty file', 'a.yaml', '', ['a.yaml: agent file is empty']],
    ['whitespace-only file', 'a.yaml', ' \n\n', ['a.yaml: agent file is empty']],
    ['comments only', 'a.yml', '# nothing here\n', ['a.yml: agent file has no fields']],
    ['top-level list', 'a.yaml', '- name: rev\n', ['a.yaml: expected a mapping of agent fields', 'got a list']],
    ['top-level scalar', 'a.yaml', 'rev\n', ['a.yaml: expected a mapping of agent fields', 'got a string']],
    ['JSON trailing comma', 'a.json', '{"name": "rev",}', ['a.json:1:16: JSON syntax error']],
    ['JSON bare word', 'a.json', '{\n  "name": rev\n}\n', ['a.json:2:', 'JSON syntax error', "Unexpected token 'r'"]],
    ['JSON truncated', 'a.json', '{"name": "rev"', ['a.json', 'JSON syntax error']],
    ['JSON bad field', 'a.json', '{"name": "rev", "skills": "git"}', ['a.json: skills: expected a list, got a string "git"']],
    ['Markdown without front matter', 'a.md', 'You review code.\n', ['a.md: a Markdown agent file starts with YAML front matter']],
    ['Markdown front matter never closed', 'a.md', '---\nname: rev\nYou review code.\n', ['a.md:1: front matter is never closed']],
    ['Markdown front matter YAML error', 'a.md', '---\nname: rev\nskills: [git\n---\nbody\n', ['a.md:3:', 'YAML syntax error']],
    ['Markdown front matter a list', 'a.md', '---\n- rev\n---\nbody\n', ['a.md: front matter must be a mapping', 'got a list']],
    ['Markdown bad field', 'a.md', '---\nname: Rev\n---\nbody\n', ['a.md: name: "Rev" is not a valid agent name']],
    ['Markdown prompt given twice', 'a.md', '---\nname: rev\nprompt: a\n---\nb\n', ['a.md: prompt: given both']],
    ['Markdown body too big', 'a.md', `---\nname: rev\n---\n${bigPrompt}\n`, ['a.md: prompt: is 307200 bytes']],
  ];

  it('has at least 20 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(20);
  });

  it.each(cases)('%s', async (_what, name, content, expected) => {
    const path = await agentFile(name, content);
    const error = await configError(loadAndPrepare(path));
    for (const text of expected) expect(error.message).toContain(text);
    expect(error.message).toContain(path);
    // One short line per issue, however big the input.
    expect(error.message.length).toBeLessThan(1000);
    expect(existsSync(stateDir)).toBe(false);
  });

  it('a missing file', async () => {
    const path = join(tmp, 'nope.yaml');
    const error = await configError(loadAndPrepare(path));
    expect(error.message).toBe(`${path}: agent file not found`);
    expect(existsSync(stateDir)).toBe(false);
  });

  it('a directory', async () => {
    await mkdir(join(tmp, 'dir.yaml'));
    const error = await configError(loadAndPrepare(join(tmp, 'dir.yaml')));
    expect(error.message).toContain('is a directory');
  });

  it('an unreadable file', async () => {
    const denied = Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
    const fs = { open: () => Promise.reject(denied) };
    const error = await configError(loadAgentFile('/agents/secret.yaml', { fs }));
    expect(error.message).toBe('/agents/secret.yaml: agent file cannot be read (permission denied)');
  });

  it('a file that is not UTF-8', async () => {
    const path = await agentFile('bin.yaml', new Uint8Array([0x6e, 0x61, 0xff, 0xfe, 0x0a]));
    const error = await configError(loadAgentFile(path));
    expect(error.message).toContain('not UTF-8');
  });
});

describe('loadAgentFile', () => {
  it('reads YAML with every field', async () => {
    const path = await agentFile(
      'agent.yaml',
      'name: reviewer\nprompt: |\n  Review the diff.\n  Be brief.\nskills: [git]\nimage: node:22\nuser: {name: node, uid: 1000, gid: 1000, home: /home/node}\nenv:\n  MODE: strict\n',
    );
    expect(await loadAgentFile(path)).toEqual({
      name: 'reviewer',
      prompt: 'Review the diff.\nBe brief.\n',
      skills: ['git'],
      image: 'node:22',
      user: { name: 'node', uid: 1000, gid: 1000, home: '/home/node' },
      env: { MODE: 'strict' },
    });
  });

  it('reads JSON', async () => {
    const path = await agentFile('agent.json', JSON.stringify({ name: 'rev', prompt: 'p', skills: ['a'] }));
    expect(await loadAgentFile(path)).toMatchObject({ name: 'rev', prompt: 'p', skills: ['a'] });
  });

  it('reads an unknown extension as YAML (which accepts JSON too)', async () => {
    expect((await loadAgentFile(await agentFile('agent.conf', 'name: rev\n'))).name).toBe('rev');
    expect((await loadAgentFile(await agentFile('agent.txt', '{"name": "rev2"}'))).name).toBe('rev2');
  });

  it('reads Markdown: front matter fields, body as the prompt (trimmed), CRLF too', async () => {
    const path = await agentFile('reviewer.md', '---\r\nname: reviewer\r\nskills: [git]\r\n---\r\n\r\nYou review code.\r\n\r\nBe brief.\r\n');
    const spec = await loadAgentFile(path);
    expect(spec.name).toBe('reviewer');
    expect(spec.skills).toEqual(['git']);
    expect(spec.prompt).toBe('You review code.\n\nBe brief.');
  });

  it('reads Markdown with an empty body as an empty prompt, or the front matter prompt', async () => {
    expect((await loadAgentFile(await agentFile('a.md', '---\nname: rev\n---\n'))).prompt).toBe('');
    expect((await loadAgentFile(await agentFile('b.md', '---\nname: rev\nprompt: from fields\n---\n\n'))).prompt).toBe('from fields');
  });

  it('strips a UTF-8 byte order mark', async () => {
    expect((await loadAgentFile(await agentFile('bom.yaml', '\uFEFFname: rev\n'))).name).toBe('rev');
  });

  it('resolves skillsDir relative to the file, and keeps an absolute one', async () => {
    await mkdir(join(tmp, 'agents'));
    const relative = join(tmp, 'agents', 'a.yaml');
    await writeFile(relative, 'name: rev\nskillsDir: ../shared/skills\n');
    expect((await loadAgentFile(relative)).skillsDir).toBe(join(tmp, 'shared', 'skills'));
    const absolute = await agentFile('b.yaml', 'name: rev\nskillsDir: /opt/skills\n');
    expect((await loadAgentFile(absolute)).skillsDir).toBe('/opt/skills');
  });

  it('reads through an injected memfs', async () => {
    const { fs } = memfs({ '/cfg/agent.yaml': 'name: rev\nskillsDir: skills\n' });
    expect(await loadAgentFile('/cfg/agent.yaml', { fs: fs.promises })).toMatchObject({ name: 'rev', skillsDir: '/cfg/skills' });
  });
});
