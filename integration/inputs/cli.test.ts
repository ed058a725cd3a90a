// Issue 9 §3 through the real CLI process: bad input exits 3, names the field, never blocks or
// grows, and writes nothing (no state dir at all).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../bin/claude-bottle.js', import.meta.url));
const LOAD = fileURLToPath(new URL('../../src/agent/load.ts', import.meta.url));

let tmp: string;
let state: string;
beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'claude-bottle-cli-inputs-'));
  state = join(tmp, 'state');
});
afterEach(() => rm(tmp, { recursive: true, force: true }));

/** `claude-bottle launch <file> --backend fake`, bounded in time: a hang fails the test. */
async function launch(file: string, env: Record<string, string> = {}, backend = 'fake') {
  const started = performance.now();
  const result = await execa(process.execPath, [BIN, 'launch', file, '--backend', backend], {
    reject: false,
    timeout: 20_000,
    stdin: 'ignore',
    env: { CLAUDE_BOTTLE_STATE_DIR: state, HOME: join(tmp, 'home'), CLAUDE_BOTTLE_SKILLS_DIR: join(tmp, 'skills'), ...env },
  });
  return { ...result, ms: performance.now() - started };
}

function mkfifo(path: string): void {
  execFileSync('mkfifo', [path]);
}

describe('claude-bottle launch refuses bad input with exit 3 and writes nothing', () => {
  it('/dev/zero as the agent file: refused unread, small, fast', async () => {
    const result = await launch('/dev/zero');
    expect(result.timedOut).toBe(false);
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toContain('/dev/zero: agent file is a character device, not a regular file');
    expect(existsSync(state)).toBe(false);
  });

  it('/dev/zero does not grow the process (it grew to 21 GB before)', async () => {
    const script = `import(${JSON.stringify(LOAD)}).then((m) => m.loadAgentFile('/dev/zero')).catch(() => {}).finally(() => console.log(process.resourceUsage().maxRSS))`;
    const { stdout } = await execa(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000 });
    const maxRssMiB = Number(stdout.trim()) / 1024;
    console.log(`[inputs] loadAgentFile('/dev/zero'): max RSS ${maxRssMiB.toFixed(1)} MiB`);
    expect(maxRssMiB).toBeLessThan(200);
  });

  it('a FIFO as the agent file: refused at once, no writer needed', async () => {
    const fifo = join(tmp, 'agent.yaml');
    mkfifo(fifo);
    const result = await launch(fifo);
    expect(result.timedOut).toBe(false);
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toContain(`${fifo}: agent file is a FIFO, not a regular file`);
    expect(existsSync(state)).toBe(false);
  });

  it('a FIFO as ca.file: refused at prepare, naming the field', async () => {
    const fifo = join(tmp, 'ca.pem');
    mkfifo(fifo);
    await writeFile(join(tmp, 'agent.yaml'), 'name: fifo-ca\nca: { file: ./ca.pem }\n');
    const result = await launch(join(tmp, 'agent.yaml'));
    expect(result.timedOut).toBe(false);
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toContain(`ca.file: ${JSON.stringify(fifo)} is a FIFO, not a regular file`);
    expect(existsSync(state)).toBe(false);
  });

  it('the alias bomb (99 aliases of a 900 KB anchor): refused in well under a second of work', async () => {
    const anchor = 'x'.repeat(900 * 1024);
    const aliases = Array.from({ length: 99 }, (_, i) => `  V${i}: *big\n`).join('');
    await writeFile(join(tmp, 'bomb.yaml'), `name: bomb\nprompt: &big "${anchor}"\nenv:\n${aliases}`);
    const result = await launch(join(tmp, 'bomb.yaml'));
    console.log(`[inputs] alias bomb refused by the CLI in ${result.ms.toFixed(0)} ms (process start included)`);
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toContain('YAML error: the document is over 2097152 bytes once its aliases are resolved');
    expect(existsSync(state)).toBe(false);
  });

  it.each(['/etc', '/', '/usr/local/share/skills'])('CLAUDE_BOTTLE_GUEST_SKILLS_DIR=%s: exit 3 at prepare, no state dir', async (dir) => {
    await mkdir(join(tmp, 'skills', 'one'), { recursive: true });
    await writeFile(join(tmp, 'skills', 'one', 'SKILL.md'), '# one\n');
    await writeFile(join(tmp, 'agent.yaml'), 'name: guarded\nprompt: hi\nskills: [one]\n');
    const result = await launch(join(tmp, 'agent.yaml'), { CLAUDE_BOTTLE_GUEST_SKILLS_DIR: dir });
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toContain(`CLAUDE_BOTTLE_GUEST_SKILLS_DIR: ${JSON.stringify(dir)} is not a valid guest skills dir`);
    expect(existsSync(state)).toBe(false);
  });

  it('what Docker cannot take (an image that reads as a flag, a NUL in an env value) is exit 3 at prepare, naming the field', async (ctx) => {
    const docker = await execa('docker', ['version', '--format', '{{.Server.Version}}'], { reject: false });
    if (docker.exitCode !== 0) {
      if (process.env.CI === 'true') throw new Error('Docker tests must run in CI');
      return ctx.skip('no Docker engine answers');
    }
    const file = join(tmp, 'agent.yaml');
    await writeFile(file, 'name: dashed\nimage: "-rm"\nenv: { HTTP_PROXY: "a\\nb" }\n');
    const result = await launch(file, {}, 'docker');
    expect(result.exitCode, result.stderr).toBe(3);
    expect(result.stderr).toContain('image:');
    expect(result.stderr).toContain('env.HTTP_PROXY:');
    expect(result.stderr).not.toContain('rollback');
    expect(existsSync(state)).toBe(false);
  });
});
