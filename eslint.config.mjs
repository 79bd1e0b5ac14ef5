// Lint for the whole repository (flat config, eslint 10). Type-aware rules read the compiled
// declarations of the workspace packages (@stowage/* resolve to packages/*/dist), so `npm run lint`
// builds first (tsc -b).
import js from '@eslint/js';
import prettier from 'eslint-config-prettier/flat';
import { createNodeResolver, flatConfigs as importX } from 'eslint-plugin-import-x';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  globalIgnores(['**/node_modules/', 'build/', '**/dist/', '**/*.d.ts', '**/*.d.mts', '.bench/', 'tmp/']),
  {
    files: ['**/*.{ts,mts,js,mjs,cjs}'],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked, importX.typescript],
    languageOptions: {
      parserOptions: {
        // Each file is checked with its own project's tsconfig; the few files outside any project
        // (this config, the packages' bin stubs) with TypeScript's defaults.
        projectService: { allowDefaultProject: ['eslint.config.mjs', 'packages/*/bin/*.js', 'examples/*/bin/*.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
      globals: globals.node,
    },
    settings: {
      // Sources import siblings as './x.js'; resolve those to the .ts (and './x.mjs' to the .mts) files.
      'import-x/resolver-next': [
        createNodeResolver({
          extensions: ['.ts', '.mts', '.js', '.mjs', '.json', '.node'],
          extensionAlias: { '.js': ['.ts', '.js'], '.mjs': ['.mts', '.mjs'] },
        }),
      ],
    },
    rules: {
      'import-x/no-cycle': 'error',
      // Type-only imports say so (the code base's style: `import type { A }`, or `import { b, type A }` when mixed),
      // so that the CommonJS output never requires a module for its types alone. `typeof import('x')` stays
      // allowed: it types a module that is loaded lazily.
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
      '@typescript-eslint/no-import-type-side-effects': 'error',
      // A leading underscore marks a parameter or binding kept on purpose (a dictated signature, a held resource).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      // Drivers implement Promise-returning interfaces with async methods that need no await: an async
      // method turns a synchronous throw into a rejection, which callers rely on.
      '@typescript-eslint/require-await': 'off',
      // The packages compile to CommonJS: `import x = require()` is TypeScript's form of it, package.json is
      // read with require(), and two loads are lazy on purpose: the cli requires a driver package only when
      // that driver is asked for, the Azure driver @azure/identity only when a token credential is configured.
      '@typescript-eslint/no-require-imports': ['error', { allowAsImport: true, allow: ['package\\.json$', '^@stowage/', '^@azure/identity$'] }],
      // The first failure caught as `unknown` is kept and rethrown (or rejected with) as it came, after a
      // `!== undefined` check that turns its type into `{} | null`, which these rules reject; and the walk
      // marks a callback's failure with a small non-Error wrapper that never leaves the driver.
      '@typescript-eslint/only-throw-error': 'off',
      '@typescript-eslint/prefer-promise-reject-errors': 'off',
      // Error messages show unknown values with String() on purpose (whatever a driver returned or threw).
      '@typescript-eslint/no-base-to-string': 'off',
    },
  },
  {
    // Tests and test servers assert on parsed JSON and load compiled modules and untyped internals by path
    // (require); the assertions check the shapes, so `any` flowing through them is not flagged.
    files: ['test/**'],
    rules: {
      '@typescript-eslint/no-require-imports': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // The scripts and bin stubs are CommonJS, run as `node scripts/x.js`; tsc checks the scripts
    // (scripts/tsconfig.json), but values from modules required by path are `any`.
    files: ['scripts/**/*.js', 'packages/*/bin/*.js', 'examples/*/bin/*.js', 'eslint.config.mjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: {
      '@typescript-eslint/no-require-imports': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    files: ['eslint.config.mjs'],
    languageOptions: { sourceType: 'module' },
  },
  prettier,
);
