/** The README's code blocks, type-checked and run on the fake (scripts/check-readme.ts), and a broken copy caught. */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkReadme } from '../../scripts/check-readme.ts';
import { REPO } from '../../scripts/check-package.ts';

describe('the README', { timeout: 180_000 }, () => {
  it('its ts blocks type-check against the sources; the SDK and "Adding a backend" blocks run on the fake', async () => {
    const result = await checkReadme();
    expect(result.blocks.map((b) => b.section)).toEqual(expect.arrayContaining(['SDK', 'Adding a backend']));
    expect(result.typecheck, result.typecheck.output).toMatchObject({ ok: true });
    expect(result.runs.map((r) => [r.section, r.ok, r.ok ? '' : r.output])).toEqual([
      ['SDK', true, ''],
      ['Adding a backend', true, ''],
    ]);
  });

  it('a snippet that no longer type-checks or runs is caught', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'claude-bottle-readme-broken-'));
    try {
      const readme = (await readFile(join(REPO, 'README.md'), 'utf8'))
        .replace("fake.registerCommand('claude', claudeStandIn);\n", '')
        .replace("image: 'my-test-image:1', calls", 'image: 1, calls');
      await writeFile(join(dir, 'README.md'), readme);
      const result = await checkReadme(join(dir, 'README.md'));
      expect(result.typecheck.ok).toBe(false);
      expect(result.typecheck.output).toMatch(/block-2-line-\d+\.test\.ts.*error TS2345: .*image: number/);
      expect(result.runs.find((r) => r.section === 'SDK')).toMatchObject({ ok: false, output: expect.stringMatching(/claude/) });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
