import { ClaudeBottleError } from '../../errors.ts';
import type { Transport } from '../../transport/types.ts';
import { smolvmArgv } from './argv.ts';
import { SmolvmError } from './errors.ts';

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

/** What a given smolvm can do beyond the 1.9 baseline (smolvm-cli.md §1b, §6). */
export interface SmolvmFeatures {
  /** `machine exec -u/--user uid[:gid]` (v1.14, #1142). */
  readonly execUser: boolean;
  /** `--allow-host-loopback`: newer smolvm floors host loopback by default (#1060, after 1.9.2). */
  readonly hostLoopbackFlag: boolean;
}

export function featuresOf(version: SmolvmVersion | undefined): SmolvmFeatures {
  const atLeast = (v: string) => version !== undefined && compareVersions(version, parseSmolvmVersion(v)!) >= 0;
  return { execUser: atLeast('1.14.0'), hostLoopbackFlag: atLeast('1.10.0') };
}

export class SmolvmVersionError extends ClaudeBottleError {
  override name = 'SmolvmVersionError';
  readonly version: string;
  constructor(version: string, missing: readonly string[]) {
    super(`smolvm ${version} is too old for claude-bottle (needs >= ${SMOLVM_MIN_VERSION}); missing: ${missing.join('; ')}. Upgrade smolvm.`);
    this.version = version;
  }
}

/** The installed smolvm's version (`smolvm --version`); a SmolvmError when it cannot be read. */
export async function readSmolvmVersion(transport: Transport): Promise<SmolvmVersion> {
  const result = await transport.run(smolvmArgv.version());
  if (result.exitCode !== 0 || result.timedOut) throw SmolvmError.fromResult(result);
  const parsed = parseSmolvmVersion(result.stdout || result.stderr);
  if (!parsed)
    throw new SmolvmError({
      kind: 'unknown',
      reason: 'cannot read smolvm version',
      argv: result.argv,
      exitCode: result.exitCode,
      stderr: result.stderr,
      stdout: result.stdout,
    });
  return parsed;
}

/** The installed version; a `SmolvmVersionError` when it lacks what uploads need. */
export async function requireSmolvmVersion(transport: Transport): Promise<SmolvmVersion> {
  const version = await readSmolvmVersion(transport);
  const missing = missingFeatures(version);
  if (missing.length) throw new SmolvmVersionError(version.raw, missing);
  return version;
}
