/**
 * A tethered daemon (pipelock's way of running) dies with its launcher, even when the launcher
 * is SIGKILLed and no handler of ours runs.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const tether = fileURLToPath(new URL('../../src/daemon/tether.ts', import.meta.url));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function gone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !alive(pid);
}

const SLEEPER = 'console.error(process.pid); setInterval(() => {}, 1000)';
/** A daemon that ignores SIGTERM: only SIGKILL ends it. */
const STUBBORN = "process.on('SIGTERM', () => {}); console.error(process.pid); setInterval(() => {}, 1000)";

/** A launcher process: starts a tethered `sleep`-like daemon, prints its pid, then waits forever. */
async function startLauncher(daemon = SLEEPER, killGraceMs?: number): Promise<{ launcher: ReturnType<typeof spawn>; daemonPid: number; watchdogPid: number }> {
  const script = `
    const { spawnTethered } = await import(${JSON.stringify(tether)});
    const child = spawnTethered(process.execPath, ['-e', ${JSON.stringify(daemon)}], {
      stderr: (chunk) => process.stdout.write('daemon ' + chunk),
      killGraceMs: ${JSON.stringify(killGraceMs)},
    });
    process.stdout.write('watchdog ' + child.pid + '\\n');
    setInterval(() => {}, 1000);
  `;
  const launcher = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  launcher.stdout?.setEncoding('utf8');
  while (!/daemon \d+/.test(out) || !/watchdog \d+/.test(out)) {
    const [chunk] = (await once(launcher.stdout as NodeJS.ReadableStream, 'data')) as [string];
    out += chunk;
  }
  return { launcher, daemonPid: Number(/daemon (\d+)/.exec(out)?.[1]), watchdogPid: Number(/watchdog (\d+)/.exec(out)?.[1]) };
}

describe('spawnTethered', () => {
  it('a SIGKILLed launcher takes its daemon and the watchdog with it', async () => {
    const { launcher, daemonPid, watchdogPid } = await startLauncher();
    expect(alive(daemonPid)).toBe(true);
    launcher.kill('SIGKILL');
    await once(launcher, 'exit');
    expect(await gone(daemonPid, 5000), `daemon ${daemonPid} outlived its launcher`).toBe(true);
    expect(await gone(watchdogPid, 5000), `watchdog ${watchdogPid} outlived its launcher`).toBe(true);
  });

  it('a SIGKILLed launcher takes a daemon that ignores SIGTERM with it too: SIGKILL after the grace', async () => {
    const { launcher, daemonPid, watchdogPid } = await startLauncher(STUBBORN, 500);
    launcher.kill('SIGKILL');
    await once(launcher, 'exit');
    const started = Date.now();
    // Still there just after the TERM it ignores: the KILL waits for the grace.
    await new Promise((r) => setTimeout(r, 200));
    expect(alive(daemonPid), 'killed before the grace').toBe(true);
    expect(await gone(daemonPid, 5000), `daemon ${daemonPid} ignoring SIGTERM outlived its launcher`).toBe(true);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(await gone(watchdogPid, 5000), `watchdog ${watchdogPid} outlived its launcher`).toBe(true);
  });

  it('stop() ends the daemon; a daemon that ignores SIGTERM is killed after the grace period', async () => {
    const { spawnTethered } = await import('../../src/daemon/tether.ts');
    let pid = 0;
    const stubborn = spawnTethered(process.execPath, ['-e', STUBBORN], {
      stderr: (chunk) => {
        pid ||= Number(chunk.trim());
      },
    });
    while (!pid) await new Promise((r) => setTimeout(r, 20));
    const started = Date.now();
    await stubborn.stop(300);
    expect(stubborn.exited()).toBe(true);
    expect(await gone(pid, 2000), 'the stubborn daemon survived stop()').toBe(true);
    expect(Date.now() - started).toBeLessThan(3000);
  });
});
