// The fast loop's own cost: wall time of `vitest run --project unit` (target <= 20 s on a
// 2-core machine), from vitest's JSON report: how many tests ran, how long it took, and the
// slowest files (the first place to look when it grows).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { median } from './shared.ts';

const RUNS = Number(process.env.BENCH_UNIT_RUNS ?? 1);
if (!Number.isInteger(RUNS) || RUNS < 1) throw new RangeError(`BENCH_UNIT_RUNS must be a positive integer, got ${process.env.BENCH_UNIT_RUNS}`);
const TARGET_S = 20;
/** How many of the slowest test files to list. */
const SLOWEST = 5;
const ROOT = fileURLToPath(new URL('..', import.meta.url));

const work = await mkdtemp(join(tmpdir(), 'claude-bottle-bench-unit-'));
try {
  const walls: number[] = [];
  let tests = 0;
  let slowest: { file: string; seconds: number }[] = [];
  for (let run = 0; run < RUNS; run++) {
    const report = join(work, `vitest-${run}.json`);
    const started = performance.now();
    const result = await execa('npx', ['vitest', 'run', '--project', 'unit', '--reporter=json', `--outputFile=${report}`], { cwd: ROOT, reject: false });
    walls.push((performance.now() - started) / 1000);
    const json = JSON.parse(await readFile(report, 'utf8')) as {
      numTotalTests: number;
      numFailedTests: number;
      testResults: { name: string; startTime: number; endTime: number }[];
    };
    if (result.exitCode !== 0 || json.numFailedTests > 0)
      throw new Error(`the unit project failed (${json.numFailedTests} failed):\n${result.stderr.slice(-2000)}`);
    tests = json.numTotalTests;
    slowest = json.testResults
      .map((file) => ({ file: relative(ROOT, file.name), seconds: (file.endTime - file.startTime) / 1000 }))
      .sort((a, b) => b.seconds - a.seconds)
      .slice(0, SLOWEST);
  }
  const wall = median(walls);
  console.log(
    `unit project: ${tests} tests, ${wall.toFixed(1)} s wall (median of ${RUNS}; ${availableParallelism()} cores, load ${loadavg()[0]?.toFixed(1)}) (target <= ${TARGET_S} s): ${wall <= TARGET_S ? 'within target' : 'over target'}`,
  );
  // Where the time goes (the last run): a file's own tests, not its import.
  for (const { file, seconds } of slowest) console.log(`  ${seconds.toFixed(1).padStart(5)} s  ${file}`);
} finally {
  await rm(work, { recursive: true, force: true });
}
