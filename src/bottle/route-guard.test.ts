import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guardRoute } from './route-guard.ts';

const STDIN = '*filter\n-D CB-x -j ACCEPT\nCOMMIT\n';
/** A closer that writes what it receives on stdin to `$0`. */
const closerTo = (file: string) => ({ argv: ['/bin/sh', '-c', 'cat > "$0"', file], stdin: STDIN });

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'claude-bottle-guard-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The file's content once it holds `want`, or what it holds after `ms`. */
async function eventually(file: string, want: string, ms = 5000): Promise<string> {
  const deadline = Date.now() + ms;
  let got = '';
  while (Date.now() < deadline) {
    got = await readFile(file, 'utf8').catch(() => '');
    if (got === want) return got;
    await new Promise((r) => setTimeout(r, 25));
  }
  return got;
}

/** The command lines of every process in group `pgid`. */
async function groupArgs(pgid: number): Promise<string[]> {
  const { stdout } = await promisify(execFile)('ps', ['-A', '-ww', '-o', 'pgid=,args=']);
  return stdout
    .split('\n')
    .map((l) => l.trim().match(/^(\d+)\s+(.*)$/))
    .filter((m): m is RegExpMatchArray => m !== null && Number(m[1]) === pgid)
    .map((m) => m[2] as string);
}

/** The guard and its sleep, if left (the tether's own grace `sleep` ends by itself). */
const guardLeft = async (pgid: number): Promise<string[]> =>
  (await groupArgs(pgid)).filter((a) => a.includes('claude-bottle-route-guard') || a === 'sleep 3600');

describe('guardRoute', () => {
  it('runs the closer, with its stdin, on stop(); no command line carries the stdin', async () => {
    const file = join(dir, 'stopped');
    const guard = guardRoute(closerTo(file));
    // Up: the guard's sleep is there (it is what the guard waits on).
    let args: string[] = [];
    for (let i = 0; i < 100 && !args.some((a) => a.startsWith('sleep')); i++) {
      args = await groupArgs(guard.pid as number);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(args.some((a) => a.includes('claude-bottle-route-guard'))).toBe(true);
    for (const a of args) expect(a).not.toContain('-D CB-x');
    expect(await readFile(file, 'utf8').catch(() => 'absent')).toBe('absent');
    await guard.stop();
    expect(await readFile(file, 'utf8')).toBe(STDIN);
    expect(await guardLeft(guard.pid as number)).toEqual([]);
  });

  it('runs the closer when the process that made it is SIGKILLed (the tether breaks)', async () => {
    const file = join(dir, 'killed');
    const module = fileURLToPath(new URL('./route-guard.ts', import.meta.url));
    const script = `
      const { guardRoute } = await import(${JSON.stringify(module)});
      const guard = guardRoute(${JSON.stringify(closerTo(file))});
      process.stdout.write('guard ' + guard.pid + '\\n');
      setInterval(() => {}, 1000);
    `;
    const parent = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    parent.stdout?.setEncoding('utf8');
    let out = '';
    while (!/guard \d+\n/.test(out)) out += ((await once(parent.stdout as NodeJS.ReadableStream, 'data')) as [string])[0];
    const pgid = Number(/guard (\d+)/.exec(out)?.[1]);
    expect(await readFile(file, 'utf8').catch(() => 'absent')).toBe('absent');
    parent.kill('SIGKILL');
    await once(parent, 'exit');
    expect(await eventually(file, STDIN)).toBe(STDIN);
    let left = await guardLeft(pgid);
    for (let i = 0; i < 100 && left.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      left = await guardLeft(pgid);
    }
    expect(left).toEqual([]);
  });

  it('refuses a closer without a program', () => {
    expect(() => guardRoute({ argv: [], stdin: '' })).toThrow(/needs an argv/);
  });
});
