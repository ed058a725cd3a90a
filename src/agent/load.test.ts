import { existsSync } from 'node:fs';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memfs } from 'memfs';
import { parseDocument } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import { type AgentFileFs, nodeHostFs } from '../host/fs.ts';
import { expansionProblem, loadAgentFile } from './load.ts';
import { MAX_AGENT_DOCUMENT_BYTES, MAX_AGENT_FILE_BYTES } from './limits.ts';

let tmp: string;

beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'claude-bottle-load-'));
});

afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function refused(path: string, fs?: AgentFileFs): Promise<string> {
  const error: unknown = await loadAgentFile(path, fs ? { fs } : {}).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return (error as Error).message;
}

/** Counts every byte read through handles, to prove a refused file was never read. */
function countingFs(): { fs: AgentFileFs; bytesRead: () => number } {
  let total = 0;
  const fs: AgentFileFs = {
    open: async (path, flags, mode) => {
      const handle = await nodeHostFs.open(path, flags, mode);
      const read = handle.read?.bind(handle);
      return Object.assign(handle, {
        read: async (buffer: Uint8Array, offset: number, length: number, position: number | null) => {
          const result = await (read as NonNullable<typeof read>)(buffer, offset, length, position);
          total += result.bytesRead;
          return result;
        },
      });
    },
  };
  return { fs, bytesRead: () => total };
}

describe('the agent file is bounded before it is read', () => {
  it('refuses /dev/zero as a character device, reading nothing', async () => {
    const { fs, bytesRead } = countingFs();
    expect(await refused('/dev/zero', fs)).toBe('/dev/zero: agent file is a character device, not a regular file');
    expect(bytesRead()).toBe(0);
  });

  it('refuses a symlink to /dev/zero the same way (the link itself may be followed)', async () => {
    const link = join(tmp, 'agent.yaml');
    await symlink('/dev/zero', link);
    expect(await refused(link)).toBe(`${link}: agent file is a character device, not a regular file`);
  });

  it('follows a symlink to a regular file (dotfile setups)', async () => {
    await writeFile(join(tmp, 'real.yaml'), 'name: linked\n');
    await symlink(join(tmp, 'real.yaml'), join(tmp, 'agent.yaml'));
    expect((await loadAgentFile(join(tmp, 'agent.yaml'))).name).toBe('linked');
  });

  it('refuses a socket without blocking', async () => {
    const path = join(tmp, 'agent.sock');
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(path, resolve));
    try {
      expect(await refused(path)).toMatch(/agent file is (a socket, not a regular file|not a regular file)$/);
    } finally {
      server.close();
    }
  });

  it('refuses a directory', async () => {
    expect(await refused(tmp)).toBe(`${tmp}: agent file is a directory, not a regular file`);
  });

  it(`refuses a file over ${MAX_AGENT_FILE_BYTES} bytes by its size, reading none of it`, async () => {
    const path = join(tmp, 'big.yaml');
    await writeFile(path, `name: big\nprompt: "${'x'.repeat(MAX_AGENT_FILE_BYTES)}"\n`);
    const { fs, bytesRead } = countingFs();
    expect(await refused(path, fs)).toBe(`${path}: agent file is ${MAX_AGENT_FILE_BYTES + 21} bytes; at most ${MAX_AGENT_FILE_BYTES} are read`);
    expect(bytesRead()).toBe(0);
  });

  it('accepts a file of exactly the cap (it is then refused by the prompt limit, not the read)', async () => {
    const path = join(tmp, 'edge.yaml');
    const head = 'name: edge\nprompt: "';
    await writeFile(path, `${head}${'x'.repeat(MAX_AGENT_FILE_BYTES - head.length - 2)}"\n`);
    expect(await refused(path)).toContain('prompt: is ');
  });

  it('refuses a file that grows between fstat and read', async () => {
    const path = join(tmp, 'grows.yaml');
    await writeFile(path, 'name: a\n');
    const fs: AgentFileFs = {
      open: async (p, flags, mode) => {
        const handle = await nodeHostFs.open(p, flags, mode);
        const stat = handle.stat?.bind(handle);
        return Object.assign(handle, {
          stat: async (options: { bigint: true }) => {
            const stats = await (stat as NonNullable<typeof stat>)(options);
            await writeFile(path, 'name: a\nprompt: appended after fstat\n');
            return stats;
          },
        });
      },
    };
    expect(await refused(path, fs)).toBe(`${path}: agent file grew past the 8 bytes fstat reported while being read`);
  });

  it('reads through memfs too, with the same checks', async () => {
    const { fs } = memfs({ '/cfg/agent.yaml': 'name: mem\n', '/cfg/big.yaml': 'x'.repeat(MAX_AGENT_FILE_BYTES + 1) });
    expect((await loadAgentFile('/cfg/agent.yaml', { fs: fs.promises })).name).toBe('mem');
    expect(await refused('/cfg/big.yaml', fs.promises)).toContain('at most 1048576 are read');
    expect(await refused('/cfg', fs.promises)).toContain('is a directory');
  });
});

describe('YAML alias expansion is bounded', () => {
  /** The report's attack: 99 aliases of a 900 KB anchor in a 901 KB file (a 90 MB plan). */
  const aliasBomb = (anchorBytes: number, aliases: number) =>
    `name: bomb\nprompt: &big "${'x'.repeat(anchorBytes)}"\nenv:\n${Array.from({ length: aliases }, (_, i) => `  V${i}: *big\n`).join('')}`;

  it('refuses 99 aliases of a 900 KB anchor, fast, before building anything', async () => {
    const text = aliasBomb(900 * 1024, 99);
    expect(text.length).toBeLessThan(MAX_AGENT_FILE_BYTES);
    const path = join(tmp, 'bomb.yaml');
    await writeFile(path, text);
    const started = performance.now();
    const message = await refused(path);
    const ms = performance.now() - started;
    expect(message).toBe(
      `${path}: YAML error: the document is over ${MAX_AGENT_DOCUMENT_BYTES} bytes once its aliases are resolved (at most ${MAX_AGENT_DOCUMENT_BYTES}; is an alias repeating a large block?)`,
    );
    expect(ms).toBeLessThan(2000);
  });

  it('measures without building: a small anchor reused within the bound is fine', async () => {
    const path = join(tmp, 'reuse.yaml');
    await writeFile(
      path,
      'name: reuse\nuser: &u {name: node, uid: 1000, gid: 1000, home: /home/node}\ngit: {repo: /r, name: &n bot, email: bot@x.invalid}\nenv: {A: *n, B: *n}\n',
    );
    const spec = await loadAgentFile(path);
    expect(spec.env).toEqual({ A: 'bot', B: 'bot' });
  });

  it("refuses nested aliases (billion laughs) by size or by yaml's own alias count", () => {
    const levels = ['a: &a ["xxxxxxxxxx","xxxxxxxxxx","xxxxxxxxxx","xxxxxxxxxx","xxxxxxxxxx","xxxxxxxxxx","xxxxxxxxxx","xxxxxxxxxx","xxxxxxxxxx"]'];
    for (let i = 1; i < 9; i++)
      levels.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(',')}]`,
      );
    const doc = parseDocument(levels.join('\n'));
    expect(expansionProblem(doc)).toMatch(/over 2097152 bytes once its aliases are resolved/);
  });

  it('refuses an alias inside its own anchor (a cycle)', () => {
    expect(expansionProblem(parseDocument('a: &x [1, *x]\n'))).toBe('the alias *x refers to a node that contains it');
  });

  it('refuses a document nested deeper than the schema could use', async () => {
    const path = join(tmp, 'deep.yaml');
    await writeFile(path, `name: deep\nenv: ${'['.repeat(40)}${']'.repeat(40)}\n`);
    expect(await refused(path)).toBe(`${path}: YAML error: nested deeper than 32 levels`);
    const json = join(tmp, 'deep.json');
    await writeFile(json, `{"name": "deep", "env": ${'['.repeat(40)}${']'.repeat(40)}}`);
    expect(await refused(json)).toBe(`${json}: JSON error: nested deeper than 32 levels`);
  });

  it('nothing is created for a refused file', async () => {
    const path = join(tmp, 'bomb.yaml');
    await writeFile(path, aliasBomb(100 * 1024, 30));
    await refused(path);
    expect(existsSync(join(tmp, 'state'))).toBe(false);
  });
});
