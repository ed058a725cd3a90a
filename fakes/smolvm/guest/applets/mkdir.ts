/**
 * `mkdir [-m MODE] [-p] DIRECTORY...` (coreutils/mkdir.c). With -p, libbb/make_directory.c
 * creates each prefix of the operand as written, up to and including its slashes, so an error
 * names that prefix ('afile/'); an existing directory is fine, anything else fails.
 */
import { complain, UsageFailure, type AppletProcess, type Applet } from './applet.ts';
import { abs, errno, fsError, stat } from './files.ts';
import { getopt } from './getopt.ts';
import { applyMode } from './modes.ts';

/** The prefixes bb_make_directory tries: each ends after a run of slashes, then the whole. */
function prefixes(path: string): string[] {
  const out: string[] = [];
  for (const m of path.matchAll(/[^/]\/+(?=[^/])/g)) out.push(path.slice(0, m.index + m[0].length));
  out.push(path);
  return out;
}

/** A failure naming the prefix it happened at, as bb_perror_msg does. */
class StepError extends Error {
  readonly step: string;
  constructor(step: string, cause: unknown) {
    super(step, { cause });
    this.step = step;
  }
}

/** Creates `path` (each prefix with -p); returns whether the last step created a directory. */
function makeOne(p: AppletProcess, path: string, parents: boolean, verbose: boolean): boolean {
  let created = false;
  for (const step of parents ? prefixes(path) : [path]) {
    const full = abs(p, step);
    try {
      created = false;
      if (p.fs.vol.existsSync(full)) {
        if (!parents) throw fsError('EEXIST');
        // stat("afile/") fails with ENOTDIR; a plain existing non-directory keeps mkdir's EEXIST.
        if (!stat(p, full).isDirectory()) throw fsError(step.endsWith('/') ? 'ENOTDIR' : 'EEXIST');
        continue;
      }
      p.fs.vol.mkdirSync(full);
      p.fs.vol.chmodSync(full, 0o755);
      created = true;
    } catch (error) {
      throw new StepError(step, error);
    }
    if (verbose) p.stdout.write(`created directory: '${step}'\n`);
  }
  return created;
}

export const mkdir: Applet = {
  source: 'coreutils/mkdir.c',
  usage: '[-m MODE] [-p] DIRECTORY...',
  summary: 'Create DIRECTORY',
  main(p) {
    const o = getopt(p, p.argv.slice(1), { short: 'm:pv', long: { mode: 'm:', parents: 'p', verbose: 'v' } });
    const raw = o.value('m');
    const mode = raw === undefined ? undefined : applyMode(raw, 0o777, true);
    if (raw !== undefined && mode === undefined) {
      complain(p, `invalid mode '${raw}'`);
      return 1;
    }
    if (o.operands.length === 0) throw new UsageFailure();
    let status = 0;
    for (const dir of o.operands) {
      if (dir === '/' || dir === '.') continue;
      try {
        // An existing target keeps its mode; only a directory made here gets -m's.
        if (makeOne(p, dir, o.has('p'), o.has('v')) && mode !== undefined) p.fs.vol.chmodSync(abs(p, dir), mode);
      } catch (error) {
        if (!(error instanceof StepError)) throw error;
        complain(p, `can't create directory '${error.step}': ${errno(error.cause)}`);
        status = 1;
      }
    }
    return status;
  },
};
