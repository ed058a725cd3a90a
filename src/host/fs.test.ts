import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HostReadError, nodeHostFs, readBoundedFile, withPrivateTempFile } from './fs.ts';

let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'claude-bottle-fs-'));
});
afterEach(() => rm(tmp, { recursive: true, force: true }));

const problem = (p: Promise<unknown>) =>
  p.then(
    () => 'read',
    (e: unknown) => (e instanceof HostReadError ? e.problem : `other: ${String(e)}`),
  );

describe('readBoundedFile', () => {
  it('reads a regular file and returns its handle-side identity', async () => {
    const path = join(tmp, 'f');
    await writeFile(path, 'hello');
    const { data, stats } = await readBoundedFile(nodeHostFs, path, { maxBytes: 5 });
    expect(new TextDecoder().decode(data)).toBe('hello');
    expect(typeof stats.ino).toBe('bigint');
    expect(stats.ino).toBe((await stat(path, { bigint: true })).ino);
  });

  it('noFollow refuses a symlink as the last component; without it the link is followed', async () => {
    await writeFile(join(tmp, 'target'), 'x');
    await symlink(join(tmp, 'target'), join(tmp, 'link'));
    expect(await problem(readBoundedFile(nodeHostFs, join(tmp, 'link'), { maxBytes: 1, noFollow: true }))).toBe('is a symlink, not a regular file');
    expect((await readBoundedFile(nodeHostFs, join(tmp, 'link'), { maxBytes: 1 })).data).toEqual(new TextEncoder().encode('x'));
  });

  it('runs check on the handle before reading, and refuses what it refuses', async () => {
    await writeFile(join(tmp, 'f'), 'content');
    let reads = 0;
    const fs = {
      open: async (path: string, flags: string | number) => {
        const handle = await nodeHostFs.open(path, flags);
        const read = handle.read?.bind(handle);
        return Object.assign(handle, {
          read: (...args: Parameters<NonNullable<typeof read>>) => {
            reads++;
            return (read as NonNullable<typeof read>)(...args);
          },
        });
      },
    };
    expect(await problem(readBoundedFile(fs, join(tmp, 'f'), { maxBytes: 100, check: () => 'is not the one' }))).toBe('is not the one');
    expect(reads).toBe(0);
  });

  it('names a missing file, and never creates one', async () => {
    expect(await problem(readBoundedFile(nodeHostFs, join(tmp, 'nope'), { maxBytes: 1 }))).toBe('does not exist');
    expect(existsSync(join(tmp, 'nope'))).toBe(false);
  });
});

describe('withPrivateTempFile', () => {
  it('hands over a 0600 copy in a 0700 dir, then removes both', async () => {
    let seen = '';
    const result = await withPrivateTempFile(
      new TextEncoder().encode('bytes'),
      async (path) => {
        seen = path;
        expect((await stat(path)).mode & 0o777).toBe(0o600);
        expect((await stat(dirname(path))).mode & 0o777).toBe(0o700);
        return readFile(path, 'utf8');
      },
      'x.tar',
    );
    expect(result).toBe('bytes');
    expect(seen.endsWith('/x.tar')).toBe(true);
    expect(existsSync(dirname(seen))).toBe(false);
  });

  it('removes the copy when the use fails', async () => {
    let seen = '';
    await expect(
      withPrivateTempFile(new Uint8Array([1]), async (path) => {
        seen = path;
        throw new Error('upload failed');
      }),
    ).rejects.toThrow('upload failed');
    expect(existsSync(dirname(seen))).toBe(false);
  });
});
