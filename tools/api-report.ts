// The public API reports (etc/*.api.md), one per entry point of package.json's exports, made by
// api-extractor from tsc's declarations in dist/ (run `npm run build` first). Without
// `--update` a report that differs from the committed one fails: the surface changed unreviewed.
import { Extractor, ExtractorConfig, ExtractorLogLevel, type IConfigFile } from '@microsoft/api-extractor';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ENTRIES = [
  { report: 'claude-bottle', exportPath: '.', dts: 'dist/src/index.d.ts' },
  {
    report: 'claude-bottle-fakes',
    exportPath: './fakes',
    dts: 'dist/fakes/index.d.ts',
  },
  {
    report: 'claude-bottle-testing',
    exportPath: './testing',
    dts: 'dist/src/testing/index.d.ts',
  },
];
const update = process.argv.includes('--update');

let failed = 0;
for (const entry of ENTRIES) {
  if (!existsSync(`${ROOT}/${entry.dts}`)) throw new Error(`${entry.dts} is missing: run \`npm run build\` first`);
  const configObject: IConfigFile = {
    projectFolder: ROOT,
    mainEntryPointFilePath: `<projectFolder>/${entry.dts}`,
    compiler: {
      // The declarations alone, with the options they were written for.
      overrideTsconfig: {
        compilerOptions: {
          target: 'ES2024',
          lib: ['ES2024', 'ESNext.Disposable'],
          module: 'nodenext',
          moduleResolution: 'nodenext',
          types: ['node'],
          strict: true,
          skipLibCheck: true,
        },
        files: [entry.dts],
      },
    },
    apiReport: {
      enabled: true,
      reportFileName: entry.report,
      reportFolder: '<projectFolder>/etc/',
      reportTempFolder: '<projectFolder>/dist/api/',
    },
    docModel: { enabled: false },
    dtsRollup: { enabled: false },
    tsdocMetadata: { enabled: false },
    newlineKind: 'lf',
    messages: {
      extractorMessageReporting: {
        // No @public/@beta tags here: what an entry point exports is public.
        'ae-missing-release-tag': { logLevel: ExtractorLogLevel.None },
        // A type that public signatures use but no entry point exports shows in the report.
        'ae-forgotten-export': {
          logLevel: ExtractorLogLevel.Warning,
          addToApiReportFile: true,
        },
      },
      // The comments are for people, not a TSDoc documentation site.
      tsdocMessageReporting: { default: { logLevel: ExtractorLogLevel.None } },
    },
  };
  const config = ExtractorConfig.prepare({
    configObject,
    configObjectFullPath: undefined,
    packageJsonFullPath: `${ROOT}/package.json`,
  });
  const result = Extractor.invoke(config, {
    localBuild: update,
    // Quiet but for warnings and errors (its own TypeScript's version line included).
    messageCallback: (message) => {
      message.handled = message.logLevel === ExtractorLogLevel.None || message.logLevel === ExtractorLogLevel.Info;
    },
  });
  const what = `${entry.exportPath.padEnd(10)} etc/${entry.report}.api.md`;
  if (result.apiReportChanged && !update) {
    failed++;
    console.error(`${what}: the public API changed. Review dist/api/${entry.report}.api.md, then run \`npm run api:update\` and commit the report.`);
  } else if (!result.succeeded) {
    failed++;
    console.error(`${what}: api-extractor failed (${result.errorCount} errors)`);
  } else {
    console.log(`${what}: ${result.apiReportChanged ? 'updated' : 'unchanged'}`);
  }
}
process.exitCode = failed ? 1 : 0;
