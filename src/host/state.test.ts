import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import { nodeHostFs, type HostFs } from './fs.ts';
import { agentStateDir } from '../agent/state-dir.ts';
import { ensureDir, stateRoot, writeFileAtomic } from './state.ts';

let tmp: string;

beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'claude-bottle-state-'));
});

afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

describe('stateRoot and agentStateDir', () => {
  const home = '/home/u';

  it('prefers CLAUDE_BOTTLE_STATE_DIR', () => {
    const env = { CLAUDE_BOTTLE_STATE_DIR: '/srv/cb/', XDG_STATE_HOME: '/xdg', HOME: home };
    expect(stateRoot(env)).toBe('/srv/cb');
    expect(agentStateDir('reviewer', env)).toBe('/srv/cb/agents/reviewer');
  });

  it('then $XDG_STATE_HOME/claude-bottle', () => {
    const env = { XDG_STATE_HOME: '/xdg', HOME: home };
    expect(stateRoot(env)).toBe('/xdg/claude-bottle');
    expect(agentStateDir('reviewer', env)).toBe('/xdg/claude-bottle/agents/reviewer');
  });

  it('then ~/.local/state/claude-bottle, from $HOME or the homedir argument', () => {
    expect(agentStateDir('reviewer', { HOME: home })).toBe('/home/u/.local/state/claude-bottle/agents/reviewer');
    expect(stateRoot({}, '/home/other')).toBe('/home/other/.local/state/claude-bottle');
  });

  it('treats empty variables as unset and ignores a relative XDG_STATE_HOME (per the XDG spec)', () => {
    expect(stateRoot({ CLAUDE_BOTTLE_STATE_DIR: '', XDG_STATE_HOME: '', HOME: home })).toBe('/home/u/.local/state/claude-bottle');
    expect(stateRoot({ XDG_STATE_HOME: 'rel/state', HOME: home })).toBe('/home/u/.local/state/claude-bottle');
  });

  it('refuses a relative CLAUDE_BOTTLE_STATE_DIR, e.g. an unexpanded ~', () => {
    expect(() => stateRoot({ CLAUDE_BOTTLE_STATE_DIR: '~/state' })).toThrow(ConfigError);
    expect(() => stateRoot({ CLAUDE_BOTTLE_STATE_DIR: '~/state' })).toThrow('CLAUDE_BOTTLE_STATE_DIR: "~/state" is not an absolute path');
  });

  it.each(['../escape', 'a/b', 'Upper', '', 'x--y'])('refuses slug %j', (slug) => {
    expect(() => agentStateDir(slug, { CLAUDE_BOTTLE_STATE_DIR: '/s' })).toThrow(ConfigError);
  });
});

describe('ensureDir', () => {
  it('creates the dir and missing parents 0700', async () => {
    const dir = join(tmp, 'a', 'b', 'c');
    await ensureDir(dir);
    expect(await modeOf(dir)).toBe(0o700);
    expect(await modeOf(join(tmp, 'a'))).toBe(0o700);
  });

  it('tightens an existing dir that is more open', async () => {
    const dir = join(tmp, 'open');
    await mkdir(dir);
    await chmod(dir, 0o755);
    await ensureDir(dir);
    expect(await modeOf(dir)).toBe(0o700);
  });

  it('refuses a file in the way', async () => {
    const path = join(tmp, 'file');
    await writeFile(path, 'x');
    await expect(ensureDir(path)).rejects.toThrow(`${path}: exists and is not a directory`);
    await expect(ensureDir(join(path, 'sub'))).rejects.toThrow(ConfigError);
  });
});

describe('writeFileAtomic', () => {
  it('writes 0600 with the exact content and leaves no temp file', async () => {
    const path = join(tmp, 'out.txt');
    await writeFileAtomic(path, 'héllo\n');
    expect(await readFile(path, 'utf8')).toBe('héllo\n');
    expect(await modeOf(path)).toBe(0o600);
    expect(await readdir(tmp)).toEqual(['out.txt']);
  });

  it('replaces an existing file, and sets the requested mode even over a 0644 file', async () => {
    const path = join(tmp, 'out.txt');
    await writeFile(path, 'old', { mode: 0o644 });
    await writeFileAtomic(path, new Uint8Array([1, 2, 3]), { mode: 0o640 });
    expect([...(await readFile(path))]).toEqual([1, 2, 3]);
    expect(await modeOf(path)).toBe(0o640);
  });

  it('leaves the old file and no temp file when the rename fails', async () => {
    const path = join(tmp, 'out.txt');
    await writeFile(path, 'old');
    const fs: HostFs = { ...nodeHostFs, rename: () => Promise.reject(new Error('EXDEV: rename failed')) };
    await expect(writeFileAtomic(path, 'new', { fs })).rejects.toThrow('rename failed');
    expect(await readFile(path, 'utf8')).toBe('old');
    expect(await readdir(tmp)).toEqual(['out.txt']);
  });

  it('leaves nothing when a write fails half-way', async () => {
    const path = join(tmp, 'out.txt');
    const fs: HostFs = {
      ...nodeHostFs,
      open: async (p, flags, mode) => {
        const handle = await nodeHostFs.open(p, flags, mode);
        return {
          writeFile: async (data) => {
            await handle.writeFile(data.subarray(0, 2));
            throw new Error('ENOSPC: no space left on device');
          },
          chmod: (m) => handle.chmod(m),
          datasync: () => handle.datasync(),
          close: () => handle.close(),
        };
      },
    };
    await expect(writeFileAtomic(path, 'complete', { fs })).rejects.toThrow('ENOSPC');
    expect(await readdir(tmp)).toEqual([]);
  });
});
