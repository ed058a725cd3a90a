// Forks beside launches: 10 forks of a provisioned golden against 10 independent launches of the
// same agent (50 skills; on Docker also a ~20 MB git repository through the gate), in one run:
// engine calls, bytes handed to the engine, and wall time for each side. On Docker the target is
// forks in at most half the launches' wall time. On the fake CLI (fakes/bin/smolvm, one process
// per engine call) the guest has no git, so that side has no repository.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { parseAgentSpec } from '../src/agent/spec.ts';
import type { Bottle } from '../src/bottle/bottle.ts';
import { launch } from '../src/bottle/launch.ts';
import type { Engine } from '../src/engine/types.ts';
import { DockerEngine } from '../src/engines/docker/engine.ts';
import { SmolvmEngine } from '../src/engines/smolvm/engine.ts';
import { AGENT_IMAGE } from '../src/image/recipe.ts';
import { prepare } from '../src/plan/prepare.ts';
import { createProcessTransport } from '../src/transport/process.ts';
import { hostRepo } from '../src/testing/doubles.ts';
import { counting, makeSkills } from './shared.ts';

const FORKS = Number(process.env.BENCH_FORKS ?? 10);
const SKILLS = 50;
const REPO_MB = 20;
const TARGET = 0.5;

async function makeRepo(dir: string): Promise<string> {
  // Incompressible, as a repository's packs mostly are.
  await hostRepo(dir, { 'blob.bin': randomBytes(REPO_MB * 1024 * 1024), 'README.md': 'bench\n' });
  return dir;
}

interface Side {
  readonly label: string;
  readonly engine: Engine;
  readonly counter: ReturnType<typeof counting>;
  readonly image: string;
  readonly user?: { name: string; uid: number; gid: number; home: string };
  readonly git: boolean;
}

async function measure(side: Side, work: string): Promise<void> {
  const skills = await makeSkills(join(work, 'skills'), SKILLS);
  const repo = side.git ? await makeRepo(join(work, 'repo')) : undefined;
  const env = { HOME: join(work, 'home'), CLAUDE_BOTTLE_STATE_DIR: join(work, 'state'), CLAUDE_BOTTLE_SKILLS_DIR: join(work, 'skills') };
  const spec = parseAgentSpec({
    name: `fork-bench-${randomBytes(2).toString('hex')}`,
    image: side.image,
    prompt: 'You are a benchmark.\n',
    skills,
    ...(side.user ? { user: side.user } : {}),
    ...(repo ? { git: { repo } } : {}),
  });
  const plan = await prepare(spec, { env });
  const made: Bottle[] = [];
  try {
    side.counter.reset();
    let started = performance.now();
    const launches = await Promise.all(Array.from({ length: FORKS }, () => launch(plan, { engine: side.engine })));
    const launchMs = performance.now() - started;
    made.push(...launches);
    const launched = { calls: side.counter.calls, bytes: side.counter.bytes };
    for (const bottle of launches) await bottle.remove();
    made.length = 0;

    side.counter.reset();
    started = performance.now();
    const golden = await launch(plan, { engine: side.engine });
    made.push(golden);
    const goldenMs = performance.now() - started;
    side.counter.reset();
    started = performance.now();
    const forks = await golden.fork(FORKS);
    const forkMs = performance.now() - started;
    const forked = { calls: side.counter.calls, bytes: side.counter.bytes };
    // The forks are real bottles: each has the golden's skills (and clone) in place.
    for (const fork of forks) {
      const seen = await fork.exec(['sh', '-c', 'ls "$1" | wc -l', 'sh', fork.skillsDir ?? '/']);
      if (seen.stdout.trim() !== String(SKILLS)) throw new Error(`${fork.name} sees ${seen.stdout.trim()} skills`);
    }
    await golden.remove({ cascade: true });
    made.length = 0;

    const ratio = forkMs / launchMs;
    const mb = (n: number) => (n >= 100_000 ? `${(n / 1e6).toFixed(1)} MB` : `${(n / 1e3).toFixed(1)} kB`);
    console.log(
      `\n${side.label}: ${FORKS} forks of a golden vs ${FORKS} launches (${SKILLS} skills${repo ? `, a ${REPO_MB} MB repository cloned through the gate` : ''})`,
    );
    console.log('| side | engine calls | bytes to the engine | wall ms |');
    console.log('| --- | --- | --- | --- |');
    console.log(`| ${FORKS} launches (in parallel) | ${launched.calls} | ${mb(launched.bytes)} | ${launchMs.toFixed(0)} |`);
    console.log(`| golden launch (once) | | | ${goldenMs.toFixed(0)} |`);
    console.log(`| ${FORKS} forks | ${forked.calls} | ${mb(forked.bytes)} | ${forkMs.toFixed(0)} |`);
    console.log(
      `forks / launches wall time: ${ratio.toFixed(2)}${side.label.startsWith('docker') ? ` (target <= ${TARGET}: ${ratio <= TARGET ? 'met' : 'NOT met'})` : ''}`,
    );
    // The golden's own launch counted in: what N agents cost from nothing, one way against the other.
    console.log(`(golden launch + forks) / launches wall time: ${((goldenMs + forkMs) / launchMs).toFixed(2)}`);
  } finally {
    for (const bottle of made.reverse()) await bottle.remove({ cascade: true }).catch(() => undefined);
  }
}

const work = await mkdtemp(join(tmpdir(), 'claude-bottle-fork-bench-'));
try {
  const fakeBin = fileURLToPath(new URL('../fakes/bin/smolvm', import.meta.url));
  const fakeCounter = counting(createProcessTransport({ env: { ...process.env, SMOLVM_BIN: fakeBin, FAKE_SMOLVM_STATE: join(work, 'fake-state') } }));
  await measure(
    { label: 'fake CLI (fakes/bin/smolvm)', engine: new SmolvmEngine({ transport: fakeCounter }), counter: fakeCounter, image: 'alpine', git: false },
    join(work, 'fake'),
  );

  const docker = await execa('docker', ['image', 'inspect', AGENT_IMAGE], { reject: false });
  if (docker.exitCode !== 0) {
    console.log(`\ndocker: skipped (${AGENT_IMAGE} is not present: claude-bottle image build)`);
  } else {
    const dockerCounter = counting(createProcessTransport());
    await measure(
      {
        label: 'docker (agent image)',
        engine: new DockerEngine({ transport: dockerCounter }),
        counter: dockerCounter,
        image: AGENT_IMAGE,
        user: { name: 'node', uid: 1000, gid: 1000, home: '/home/node' },
        git: true,
      },
      join(work, 'docker'),
    );
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
