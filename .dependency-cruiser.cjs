// The layers of src/ (docs/architecture.md) and the rules that keep imports pointing down:
// merkle at the ground; the wire contract; the client, crypto and auth above it; trust above
// those; the local service and the GraphQL schema side by side, never importing each other;
// config, the full audit, then the gateway; main on top. Type-only imports count too.
const below = (layer, allowed) => ({
  name: `${layer}-imports-only-below`,
  comment: `${layer} may import only ${allowed.join(', ')} (docs/architecture.md)`,
  severity: 'error',
  from: { path: `^src/${layer}` },
  to: { path: '^src/', pathNot: [`^src/${layer}`, ...allowed.map((l) => `^src/${l}`)] },
});

module.exports = {
  forbidden: [
    { name: 'no-circular', comment: 'no import cycles', severity: 'error', from: {}, to: { circular: true } },
    below('merkle/', []),
    below('wire/', []),
    below('crypto/', ['merkle/']),
    below('audit-client/', ['wire/', 'merkle/']),
    below('auth/', ['wire/']),
    below('trust/', ['audit-client/', 'wire/', 'crypto/', 'merkle/']),
    below('node-http/', []),
    below('local-audit/', ['node-http/', 'wire/', 'merkle/']),
    below('graphql/', ['trust/', 'auth/', 'audit-client/', 'crypto/', 'wire/', 'merkle/']),
    below('config.ts', ['trust/', 'wire/', 'merkle/']),
    below('full-audit/', ['config.ts', 'local-audit/', 'trust/', 'audit-client/', 'wire/', 'merkle/']),
    below('gateway/', ['config.ts', 'full-audit/', 'graphql/', 'local-audit/', 'trust/', 'auth/', 'audit-client/', 'crypto/', 'node-http/', 'wire/', 'merkle/']),
    {
      name: 'merkle-is-isomorphic',
      comment: 'src/merkle runs in browsers: no node: built-ins',
      severity: 'error',
      from: { path: '^src/merkle/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'local-audit-store-and-core-below-http',
      comment: 'the store and the core of the local service never import its HTTP adapter or its routes',
      severity: 'error',
      from: { path: '^src/local-audit/(store|core)/' },
      to: { path: '^src/local-audit/(http|routes)/' },
    },
    {
      name: 'local-audit-core-below-store',
      comment: 'core/ is the bottom of the local service',
      severity: 'error',
      from: { path: '^src/local-audit/core/' },
      to: { path: '^src/local-audit/', pathNot: '^src/local-audit/core/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
