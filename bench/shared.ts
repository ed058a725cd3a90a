// What the benches share: the median, the skills they launch with, and a transport that counts
// engine calls and the bytes handed to the engine.
import { chmod, mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Transport } from '../src/transport/types.ts';

export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

/** `count` skills of SKILL.md plus `filesPerSkill - 1` files, every third an executable script under scripts/. */
export async function makeSkills(root: string, count: number, filesPerSkill = 10): Promise<string[]> {
  const names: string[] = [];
  for (let s = 0; s < count; s++) {
    const name = `skill-${s}`;
    names.push(name);
    await mkdir(join(root, name, 'scripts'), { recursive: true });
    await writeFile(join(root, name, 'SKILL.md'), `---\nname: ${name}\ndescription: bench skill ${s}\n---\n# ${name}\n`);
    for (let f = 1; f < filesPerSkill; f++) {
      const script = f % 3 === 0;
      const path = join(root, name, script ? 'scripts' : '', `file-${f}.${script ? 'sh' : 'md'}`);
      await writeFile(path, `content ${s}/${f}\n`.repeat(20));
      // Explicit, whatever the umask: the Docker bench compares modes with a hand-written copy.
      await chmod(path, script ? 0o755 : 0o644);
    }
  }
  return names;
}

/** Counts engine calls and the bytes handed to the engine (stdin archives, `cp`'d host files). */
export function counting(inner: Transport): Transport & { calls: number; bytes: number; reset(): void } {
  const counter = {
    calls: 0,
    bytes: 0,
    reset() {
      counter.calls = 0;
      counter.bytes = 0;
    },
    async run(argv: readonly string[], options: Parameters<Transport['run']>[1] = {}) {
      counter.calls++;
      if (options.stdin !== undefined) counter.bytes += typeof options.stdin === 'string' ? Buffer.byteLength(options.stdin) : options.stdin.byteLength;
      // smolvm's `machine cp HOSTFILE NAME:PATH`: an upload of that file.
      if (argv[1] === 'machine' && argv[2] === 'cp' && argv[3] && !argv[3].includes(':'))
        counter.bytes += (await stat(argv[3]).catch(() => ({ size: 0 }))).size;
      return inner.run(argv, options);
    },
  };
  return counter;
}
