// The layering of src/, checked in CI (`npm run lint:deps`). A module may import its own layer
// or the layers below it, never one above; no cycles anywhere. Bottom to top:
const LAYERS = [
  ['base', '^src/(errors\\.ts|host/)'],
  ['transport', '^src/(transport|archive)/'],
  ['engine port', '^src/engine/'],
  ['engines', '^src/engines/'],
  ['image', '^src/image/'],
  ['daemon kernel', '^src/daemon/'],
  ['daemons', '^src/daemons/'],
  ['agent spec', '^src/agent/'],
  ['plan', '^src/plan/'],
  ['bundle', '^src/bundle/'],
  ['provision', '^src/provision/'],
  ['bottle', '^src/bottle/'],
  ['sdk edges', '^src/(testing|cli)/'],
  ['public api', '^src/index\\.ts$'],
];

const upward = LAYERS.slice(0, -1).map(([name, path], i) => ({
  name: `no-upward-from-${name.replace(/\s+/g, '-')}`,
  comment: `${name} may not import a layer above it`,
  severity: 'error',
  from: { path, pathNot: '\\.test\\.ts$' },
  to: {
    path: LAYERS.slice(i + 1)
      .map(([, p]) => `(${p})`)
      .join('|'),
  },
}));

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    ...upward,
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'a cycle makes the layers meaningless (a cycle of type-only imports, e.g. an interpreter and its builtins sharing a type, is not one at run time)',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'engines-stay-apart',
      severity: 'error',
      comment: 'one folder per engine; docker and podman build on the shared container-CLI code, which knows neither',
      from: { path: '^src/engines/([^/]+)/' },
      to: { path: '^src/engines/', pathNot: ['^src/engines/$1/', '^src/engines/container/'] },
    },
    {
      name: 'fake-smolvm-on-transport-only',
      severity: 'error',
      comment: 'the fake stands on the transport alone, so it models smolvm, not our code',
      from: { path: '^fakes/smolvm/', pathNot: '\\.test\\.ts$' },
      to: { path: '^src/', pathNot: '^src/transport/types\\.ts$' },
    },
    {
      name: 'vitest-through-one-door',
      severity: 'error',
      comment: 'vitest is an optional peer: the SDK loads it only in src/testing/vitest.ts, which says how to add it when it is missing',
      from: { path: '^src/', pathNot: ['\\.test\\.ts$', '^src/testing/vitest\\.ts$'] },
      to: { path: '(^|/)node_modules/vitest/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'src-not-on-integration-or-bench',
      severity: 'error',
      from: { path: '^(src|fakes)/' },
      to: { path: '^(integration|bench)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^dist/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
