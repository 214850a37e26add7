// GraphQL Code Generator: typed documents for frontends, from the printed schema (the contract,
// see scripts/print-schema.ts) and the operations in examples/operations/*.graphql.
// `npm run codegen` regenerates examples/generated/, which is committed so that a fresh clone
// type-checks without running codegen first.
import { addTypenameSelectionDocumentTransform } from '@graphql-codegen/client-preset';
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: 'schema/schema.graphql',
  documents: ['examples/operations/**/*.graphql'],
  // Fail when a document no longer matches the schema instead of emitting partial types.
  ignoreNoDocuments: false,
  generates: {
    'examples/generated/': {
      preset: 'client',
      presetConfig: {
        // The fragments here are shared selections, not component boundaries: no masking, so
        // operation result types carry the fragment fields directly.
        fragmentMasking: false,
        // persisted-documents.json, {sha256: document}: the operations a production gateway
        // accepts (PERSISTED_OPERATIONS_FILE); each document carries its hash in __meta__.hash.
        persistedDocuments: { hashAlgorithm: 'sha256' },
      },
      // Every selection set asks for __typename, as Apollo Client's cache does anyway: union
      // results (`... on Error`) can then be narrowed on __typename with any client, and the
      // types say so (nonOptionalTypename).
      documentTransforms: [addTypenameSelectionDocumentTransform],
      config: {
        // Our tsconfig has verbatimModuleSyntax and NodeNext: type-only imports, .js specifiers.
        useTypeImports: true,
        importExtension: '.js',
        nonOptionalTypename: true,
        // Enums become string-literal unions (the default, said explicitly): no runtime code.
        enumType: 'string-literal',
        strictScalars: true,
        scalars: {
          // An RFC 3339 string kept exactly as written.
          DateTime: 'string',
          // Any JSON value; callers narrow it themselves.
          JSON: 'unknown',
        },
      },
    },
  },
};

export default config;
