/**
 * smolvm argv for forking a running machine (issue 14), and which verbs a version has.
 *
 * smolvm 1.9.x, read from its source (`src/cli/machine.rs` v1.9.0-v1.9.3, all alike):
 * `machine start --forkable`, `machine fork --golden G --name C`, `machine fork-release`,
 * `machine delete --cascade`. The golden stays frozen (state `frozen`, exec refused) while clones
 * exist; see fakes/README.md for the whole behaviour.
 *
 * Later versions, UNCONFIRMED (no source read): `shared/docs/smolvm-cli.md` (a third-party 1.17.0
 * help capture) renames `fork` to `branch` (alias `fork`) with `--from` (alias `--golden`) and
 * `fork-release` to `branch-release`; smolvm's own "Branching" docs page of a later release
 * starts the source with `--branchable` and keeps `fork`, `--golden`, `--forkable` as aliases,
 * and there the source keeps running after a branch unless `--freeze-source` is given.
 * Third-party notes already use `branch`/`--branchable` on 1.16.1, so 1.10-1.16 are unsettled.
 */
import { ConfigError } from '../../errors.ts';
import { SMOLVM } from './argv.ts';
import { checkEnvKey, checkMachineName } from './validate.ts';
import { compareVersions, parseSmolvmVersion, type SmolvmVersion } from './version.ts';

/** The first version documented with `branch` (smolvm-cli.md §1a). */
export const SMOLVM_BRANCH_VERSION = '1.17.0';
const SOURCE_READ = ['1.9.0', '1.9.3'] as const;

export interface ForkFeatures {
  /** True where smolvm's source was read (1.9.0-1.9.3); every other answer is UNCONFIRMED. */
  readonly confirmed: boolean;
  /** The subcommand that clones a running machine. */
  readonly verb: 'fork' | 'branch';
  /** The option naming the machine to clone. */
  readonly sourceFlag: '--golden' | '--from';
  /** The `machine start` flag that makes a machine a fork source (decided at boot, not at create). */
  readonly startFlag: '--forkable' | '--branchable';
  /** The subcommand that releases a held pool slot. Nothing here releases one; it stays because `ForkFeatures` is public (etc/claude-bottle.api.md). */
  readonly releaseVerb: 'fork-release' | 'branch-release';
  /**
   * After a fork the source stays frozen (1.9.x: exec into it fails, `stop`/`start` are refused
   * while clones exist). `undefined`: not known for this version.
   */
  readonly sourceFrozen: boolean | undefined;
}

/** What a smolvm version calls forking, in the style of `featuresOf`. Unknown versions get 1.9's. */
export function forkFeatures(version: SmolvmVersion | undefined): ForkFeatures {
  const atLeast = (v: string): boolean => {
    const bound = parseSmolvmVersion(v);
    return version !== undefined && bound !== undefined && compareVersions(version, bound) >= 0;
  };
  const atMost = (v: string): boolean => {
    const bound = parseSmolvmVersion(v);
    return version !== undefined && bound !== undefined && compareVersions(version, bound) <= 0;
  };
  if (atLeast(SMOLVM_BRANCH_VERSION)) {
    return { confirmed: false, verb: 'branch', sourceFlag: '--from', startFlag: '--branchable', releaseVerb: 'branch-release', sourceFrozen: undefined };
  }
  const confirmed = atLeast(SOURCE_READ[0]) && atMost(SOURCE_READ[1]);
  return { confirmed, verb: 'fork', sourceFlag: '--golden', startFlag: '--forkable', releaseVerb: 'fork-release', sourceFrozen: confirmed ? true : undefined };
}

export interface ForkArgs {
  /** The running, forkable machine to clone (the golden). */
  readonly source: string;
  /** The new machine's name. */
  readonly clone: string;
  /**
   * Per-clone parameters, names only: smolvm reads each value from its own environment (`-e KEY`),
   * merges it into the clone's env and writes it to the clone's /etc/smolvm/fork-env.
   */
  readonly envKeys?: readonly string[];
}

export const smolvmForkArgv = {
  /** `machine start --name N --forkable` (or `--branchable`): boots N as a fork source. */
  start: (name: string, features: ForkFeatures): string[] => [SMOLVM, 'machine', 'start', '--name', checkMachineName(name), features.startFlag],

  /** One clone: `machine fork --golden G --name C` (or `machine branch --from G --name C`). */
  fork(a: ForkArgs, features: ForkFeatures): string[] {
    // smolvm would refuse it after freezing nothing ("machine 'X' already exists"); say it sooner.
    if (a.clone === a.source)
      throw new ConfigError(`a clone needs its own name, not its source's (${JSON.stringify(a.source)})`, [{ path: 'clone', message: 'same as source' }]);
    const argv = [SMOLVM, 'machine', features.verb, features.sourceFlag, checkMachineName(a.source), '--name', checkMachineName(a.clone)];
    for (const k of a.envKeys ?? []) argv.push('--env', checkEnvKey(k));
    return argv;
  },
};
