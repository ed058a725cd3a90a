/** `sleep [N]...`: the sum of the durations, each with an optional s/m/h/d suffix and fraction. */
import { sleep as wait } from '../process.ts';
import { die, UsageFailure, type Applet } from './applet.ts';

const UNIT: Readonly<Record<string, number>> = { '': 1000, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export const sleep: Applet = {
  source: 'coreutils/sleep.c',
  usage: '[N]...',
  summary: 'Pause for a time equal to the total of the args given, where each arg can',
  async main(p) {
    const args = p.argv.slice(1);
    if (args.length === 0) throw new UsageFailure();
    let ms = 0;
    for (const arg of args) {
      const m = /^(\d+(?:\.\d*)?|\.\d+)([smhd]?)$/.exec(arg);
      if (!m) die(p, `invalid number '${arg}'`);
      ms += Number(m[1]) * (UNIT[m[2] as string] ?? 1000);
    }
    await wait(ms, p.signal);
    return 0;
  },
};
