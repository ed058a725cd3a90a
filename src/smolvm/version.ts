/** Versions whose behaviour the SDK relies on. */
export const SMOLVM_MIN_VERSION = '1.9.0'; // `machine cp --mode/--uid/--gid` (smolvm #997)

export interface SmolvmVersion {
  readonly raw: string;
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
}

/** Parses `smolvm 1.9.2` (clap's `--version`), tolerating a leading `v` and build suffixes. */
export function parseSmolvmVersion(output: string): SmolvmVersion | undefined {
  const match = /(\d+)\.(\d+)\.(\d+)/.exec(output);
  if (!match) return undefined;
  return { raw: match[0], major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3]) };
}

export function compareVersions(a: SmolvmVersion, b: SmolvmVersion): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

/** What this version lacks that claude-bottle uses; empty when it is recent enough. */
export function missingFeatures(version: SmolvmVersion): string[] {
  const min = parseSmolvmVersion(SMOLVM_MIN_VERSION);
  if (min && compareVersions(version, min) < 0) {
    return [`machine cp --mode/--uid/--gid (needs smolvm >= ${SMOLVM_MIN_VERSION}; uploads would land root-owned 0644)`];
  }
  return [];
}
