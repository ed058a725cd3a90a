// Launch cost on Docker: the SDK (prepare + launch) beside a hand-written docker CLI sequence
// that lands the same prompt and skills, with the same modes and owners, in the same kind of
// container. Both sides are checked to leave identical trees before any number is printed.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { parseAgentSpec } from '../src/agent/spec.ts';
import { launch } from '../src/bottle/launch.ts';
import { DockerEngine } from '../src/engines/docker/engine.ts';
import { packTar, type TarEntry } from '../src/archive/tar.ts';
import { prepare } from '../src/plan/prepare.ts';
import { createProcessTransport } from '../src/transport/process.ts';
import type { CommandResult, Transport } from '../src/transport/types.ts';
import { ensureTestImage } from '../integration/docker/image.ts';
import { makeSkills, median } from './shared.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
if (!Number.isInteger(RUNS) || RUNS < 1) throw new RangeError(`BENCH_RUNS must be a positive integer, got ${process.env.BENCH_RUNS}`);
const TARGET = 1.15;
const SKILLS = 10;
const FILES_PER_SKILL = 10;
const USER = { name: 'node', uid: 1000, gid: 1000, home: '/home/node' } as const;
const PROMPT = 'You are a benchmark. Review the diff you are given.\n'.repeat(20);
const BENCH_LABEL = 'claude-bottle.bench';

/** Records each docker call's verb and duration, to say where the SDK's time goes. */
function timed(inner: Transport): Transport & { log: { verb: string; ms: number }[] } {
  const log: { verb: string; ms: number }[] = [];
  return {
    log,
    async run(argv, options) {
      const result: CommandResult = await inner.run(argv, options);
      const script = argv[1] === 'exec' ? argv[argv.indexOf('-c') + 1] : undefined;
      const verb = script !== undefined ? `exec sh -c '${script.slice(0, 26)}…'` : (argv[1] ?? '?');
      log.push({ verb, ms: result.durationMs });
      return result;
    },
  };
}

/** What a person would write by hand: create, start, and one `docker cp -` of a tar carrying owners and modes. */
async function handWritten(image: string, name: string, promptFile: string, skillsRoot: string, skills: readonly string[]): Promise<number> {
  const { uid, gid } = USER;
  const entries: TarEntry[] = [
    { path: '.claude-bottle-prompt.txt', type: 'file', mode: 0o600, uid, gid, data: await readFile(promptFile) },
    { path: '.claude', type: 'directory', mode: 0o755, uid, gid },
    { path: '.claude/skills', type: 'directory', mode: 0o755, uid, gid },
  ];
  const addTree = async (hostDir: string, guestDir: string): Promise<void> => {
    entries.push({ path: guestDir, type: 'directory', mode: (await stat(hostDir)).mode & 0o777, uid, gid });
    for (const entry of (await readdir(hostDir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const host = join(hostDir, entry.name);
      if (entry.isDirectory()) await addTree(host, `${guestDir}/${entry.name}`);
      else entries.push({ path: `${guestDir}/${entry.name}`, type: 'file', mode: (await stat(host)).mode & 0o777, uid, gid, data: await readFile(host) });
    }
  };
  for (const skill of skills) await addTree(join(skillsRoot, skill), `.claude/skills/${skill}`);
  const keepAlive = ['-c', 'trap "exit 0" TERM INT; sleep infinity & wait'];
  await execa('docker', [
    'create',
    '--pull',
    'never',
    '--name',
    name,
    '--label',
    `${BENCH_LABEL}=1`,
    '--network',
    'none',
    '--user',
    `${uid}:${gid}`,
    '--entrypoint',
    'sh',
    image,
    ...keepAlive,
  ]);
  await execa('docker', ['start', name]);
  await execa('docker', ['cp', '-', `${name}:${USER.home}`], { input: packTar(entries) });
  return 3;
}

/** Every path under the home, with type, mode, owner and size: what both sides must agree on. */
async function guestTree(name: string): Promise<string> {
  const listing = `find ${USER.home} | sort | xargs stat -c '%n %F %a %u %g %s'`;
  return (await execa('docker', ['exec', '--user', '0:0', name, 'sh', '-c', listing])).stdout;
}

async function skip(reason: string): Promise<never> {
  console.log(`docker launch bench skipped: ${reason}`);
  process.exit(0);
}

const transport = createProcessTransport();
try {
  await new DockerEngine({ transport }).serverVersion();
} catch (error) {
  const lines = (error instanceof Error ? error.message : String(error)).split('\n').filter(Boolean);
  await skip(`no Docker engine answers (${lines.at(-1) ?? 'unknown error'})`);
}
const image = await ensureTestImage(transport).then(
  (built) => built.image,
  (error: unknown) => skip(`the docker test image could not be made (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`),
);

const work = await mkdtemp(join(tmpdir(), 'claude-bottle-bench-docker-'));
const containers = new Set<string>();
const removeAll = async (): Promise<void> => {
  await Promise.all([...containers].map((name) => execa('docker', ['rm', '-f', name], { reject: false })));
  containers.clear();
};
try {
  const skillsRoot = join(work, 'skills');
  const skills = await makeSkills(skillsRoot, SKILLS, FILES_PER_SKILL);
  const env = { HOME: join(work, 'home'), CLAUDE_BOTTLE_STATE_DIR: join(work, 'state'), CLAUDE_BOTTLE_SKILLS_DIR: skillsRoot };
  const agent = parseAgentSpec({ name: 'bench-docker', prompt: PROMPT, skills, image, user: { ...USER } });

  const sdkMs: number[] = [];
  const handMs: number[] = [];
  const sdkCalls: { verb: string; ms: number }[][] = [];
  let handCalls = 0;
  // Run 0 warms docker up and checks both sides land the same tree; runs alternate to share the noise.
  for (let run = 0; run <= RUNS; run++) {
    const sdkTransport = timed(createProcessTransport());
    let started = performance.now();
    const plan = await prepare(agent, { env });
    const bottle = await launch(plan, { engine: new DockerEngine({ transport: sdkTransport }), labels: { [BENCH_LABEL]: '1' } });
    const sdkElapsed = performance.now() - started;
    containers.add(bottle.name);

    const hand = `bench-hand-${randomBytes(4).toString('hex')}`;
    containers.add(hand);
    started = performance.now();
    handCalls = await handWritten(image, hand, plan.prompt.hostPath, skillsRoot, skills);
    const handElapsed = performance.now() - started;

    if (run === 0) {
      const [sdkTree, handTree] = await Promise.all([guestTree(bottle.name), guestTree(hand)]);
      if (sdkTree !== handTree) throw new Error(`the two sides landed different trees:\n--- sdk\n${sdkTree}\n--- hand-written\n${handTree}`);
    } else {
      sdkMs.push(sdkElapsed);
      handMs.push(handElapsed);
      sdkCalls.push(sdkTransport.log);
    }
    await removeAll();
  }

  const sdk = median(sdkMs);
  const handMedian = median(handMs);
  const ratio = sdk / handMedian;
  const calls = sdkCalls[0] ?? [];
  console.log(`docker launch: prompt + ${SKILLS} skills x ${FILES_PER_SKILL} files, ${image}, median of ${RUNS} runs (after 1 warm-up)`);
  console.log('side          docker calls  wall ms');
  console.log(`sdk           ${String(calls.length).padStart(12)}  ${sdk.toFixed(0).padStart(7)}`);
  console.log(`hand-written  ${String(handCalls).padStart(12)}  ${handMedian.toFixed(0).padStart(7)}`);
  console.log(`ratio sdk/hand-written ${ratio.toFixed(2)} (target <= ${TARGET}): ${ratio <= TARGET ? 'within target' : 'over target'}`);
  console.log('sdk calls, median ms each:');
  for (const [i, { verb }] of calls.entries()) {
    console.log(
      `  ${String(i + 1).padStart(2)}. docker ${verb.padEnd(44)} ${median(sdkCalls.map((log) => log[i]?.ms ?? NaN))
        .toFixed(0)
        .padStart(5)}`,
    );
  }
} finally {
  await removeAll();
  await rm(work, { recursive: true, force: true });
}
