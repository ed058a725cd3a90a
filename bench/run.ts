// Launch cost through the fake smolvm CLI (real subprocesses): engine calls and wall time for
// 0, 10 and 100 skills of 10 files each, archive transfer beside per-file transfer.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAgentSpec } from '../src/agent/spec.ts';
import { launch } from '../src/bottle/launch.ts';
import { SmolvmEngine } from '../src/engines/smolvm/engine.ts';
import { prepare } from '../src/plan/prepare.ts';
import type { FileTransfer } from '../src/provision/files.ts';
import { createProcessTransport } from '../src/transport/process.ts';
import { counting, makeSkills, median } from './shared.ts';

const FAKE_BIN = fileURLToPath(new URL('../fakes/bin/smolvm', import.meta.url));
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

const work = await mkdtemp(join(tmpdir(), 'claude-bottle-bench-'));
try {
  const env = { ...process.env, SMOLVM_BIN: FAKE_BIN, FAKE_SMOLVM_STATE: join(work, 'fake-state'), CLAUDE_BOTTLE_STATE_DIR: join(work, 'state') };
  console.log(`launch through fakes/bin/smolvm, median of ${RUNS} runs (10 files per skill)`);
  console.log('skills  transfer   engine calls  wall ms  runs');
  for (const count of [0, 10, 100]) {
    const skillsDir = join(work, `skills-${count}`);
    const skills = await makeSkills(skillsDir, count);
    for (const transfer of ['archive', 'per-file'] as FileTransfer[]) {
      const times: number[] = [];
      let calls = 0;
      // 1000 per-file uploads through a subprocess each take minutes: once is enough to show the trend.
      const runs = transfer === 'per-file' && count >= 100 ? 1 : RUNS;
      for (let run = 0; run < runs; run++) {
        const transport = counting(createProcessTransport({ env }));
        const engine = new SmolvmEngine({ transport });
        const agent = parseAgentSpec({ name: `bench-${count}`, prompt: 'You are a benchmark.', skills, skillsDir });
        const plan = await prepare(agent, { env });
        const started = performance.now();
        const bottle = await launch(plan, { engine, fileTransfer: transfer });
        times.push(performance.now() - started);
        calls = transport.calls;
        await bottle.remove();
      }
      console.log(
        `${String(count).padStart(6)}  ${transfer.padEnd(9)}  ${String(calls).padStart(12)}  ${median(times).toFixed(0).padStart(7)}  ${times.length}`,
      );
    }
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
