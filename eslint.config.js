// Lint for src/: typescript-eslint's type-aware recommended rules (they see the types, so they
// catch floating promises, unsafe any and misused async code that plain rules cannot).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'examples/generated/**', 'test-artifacts/**'] },
  {
    files: ['src/**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // `{}` is the client's "no call options" default for its typed option generics.
      '@typescript-eslint/no-empty-object-type': ['error', { allowObjectTypes: 'always' }],
      // An abort passes the signal's reason on as it is (typed any), as fetch does.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true }],
      // Rethrowing what a catch or an abort handed over, as it is.
      '@typescript-eslint/only-throw-error': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
      // Async methods and generators without an await implement async interfaces (a source of
      // leaves, a witness that answers at once, an authenticator) with work that happens to be sync.
      '@typescript-eslint/require-await': 'off',
      // The signals of src/audit-client/abort-source.ts are not native AbortSignals, and Node's
      // AbortSignal.any would never abort a composite of one.
      'no-restricted-properties': [
        'error',
        { object: 'AbortSignal', property: 'any', message: 'An AbortSource signal is not a native AbortSignal: use linkedController (src/audit-client/signals.ts).' },
      ],
    },
  },
);
