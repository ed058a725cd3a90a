// The CLI's own cost, for the installed package (npm pack, unpacked under node_modules, so the
// bins run the bundled dist/): `claude-bottle --help` beside a bare `node -e 0`, and, where
// Docker answers, `claude-bottle exec B -- true` beside a raw `docker exec C true` on the same
// container. Medians of interleaved runs, after a warm-up (which fills Node's compile cache).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { ensureTestImage } from '../integration/docker/image.ts';
import { installPacked, packFromSources } from '../scripts/check-package.ts';
import { DockerEngine } from '../src/engines/docker/engine.ts';
import { createProcessTransport } from '../src/transport/process.ts';
import { median } from './shared.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 15);
if (!Number.isInteger(RUNS) || RUNS < 1) throw new RangeError(`BENCH_RUNS must be a positive integer, got ${process.env.BENCH_RUNS}`);
const HELP_TARGET = 3;
const EXEC_TARGET = 2;

/** Wall time of one run of argv, in ms; throws unless it exits 0. */
function time(argv: readonly string[], env: NodeJS.ProcessEnv): number {
  const started = performance.now();
  const result = spawnSync(argv[0] ?? '', argv.slice(1), { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const elapsed = performance.now() - started;
  if (result.status !== 0) throw new Error(`${argv.join(' ')} exited ${result.status ?? result.signal}: ${String(result.stderr)}`);
  return elapsed;
}

/** Runs each side once to warm up, then RUNS rounds, the sides alternating to share the noise. */
function compare(sides: Record<string, readonly string[]>, env: NodeJS.ProcessEnv): Record<string, number> {
  const times = Object.fromEntries(Object.keys(sides).map((name) => [name, [] as number[]]));
  for (let run = 0; run <= RUNS; run++) {
    for (const [name, argv] of Object.entries(sides)) {
      const ms = time(argv, env);
      if (run > 0) times[name]?.push(ms);
    }
  }
  return Object.fromEntries(Object.entries(times).map(([name, ms]) => [name, median(ms)]));
}

function line(what: string, ours: number, base: number, baseName: string, target: number): void {
  const ratio = ours / base;
  console.log(
    `${what.padEnd(34)} ${ours.toFixed(0).padStart(5)} ms   ${baseName.padEnd(22)} ${base.toFixed(0).padStart(5)} ms   ratio ${ratio.toFixed(2)} (target <= ${target}): ${ratio <= target ? 'within target' : 'over target'}`,
  );
}

const work = await mkdtemp(join(tmpdir(), 'claude-bottle-bench-cli-'));
try {
  const packed = await packFromSources();
  const bin = join(await installPacked(packed, join(work, 'installed')), 'bin/claude-bottle.js');
  await rm(packed.dir, { recursive: true, force: true });
  const env = { ...process.env, CLAUDE_BOTTLE_STATE_DIR: join(work, 'state'), HOME: join(work, 'home') };
  console.log(`claude-bottle CLI, installed package (npm pack; the bundled dist/cli), median of ${RUNS} runs after 1 warm-up`);
  const help = compare({ help: [process.execPath, bin, '--help'], node: [process.execPath, '-e', '0'] }, env);
  line('claude-bottle --help', help.help ?? Number.NaN, help.node ?? Number.NaN, 'node -e 0', HELP_TARGET);

  const transport = createProcessTransport();
  const docker = await new DockerEngine({ transport }).serverVersion().then(
    () => undefined,
    (error: unknown) => (error instanceof Error ? error.message : String(error)).split('\n').filter(Boolean).at(-1) ?? 'no answer',
  );
  if (docker !== undefined) {
    console.log(`claude-bottle exec on Docker skipped: no Docker engine answers (${docker})`);
  } else {
    const { image } = await ensureTestImage(transport);
    const agent = join(work, 'agent.yaml');
    await writeFile(agent, `name: bench-cli\nimage: ${image}\n`);
    const name = `bench-cli-${randomBytes(4).toString('hex')}`;
    const launched = await execa(process.execPath, [bin, 'launch', agent, '--backend', 'docker', '--name', name], { env, reject: false });
    if (launched.exitCode !== 0) throw new Error(`launch failed: ${launched.stderr}`);
    try {
      // The bottle's container is named after it: the raw side runs the same command in the same container.
      const exec = compare({ cli: [process.execPath, bin, 'exec', name, '--', 'true'], docker: ['docker', 'exec', name, 'true'] }, env);
      line('claude-bottle exec B -- true', exec.cli ?? Number.NaN, exec.docker ?? Number.NaN, 'docker exec C true', EXEC_TARGET);
    } finally {
      await execa(process.execPath, [bin, 'rm', name], { env, reject: false });
    }
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
