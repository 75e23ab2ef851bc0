// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import local from './eslint-rules/imports.js';

// The layers of src/, lowest first. A part imports only parts on a lower row: not its siblings
// on the same row, never a row above (docs/ARCHITECTURE.md, Layers).
const LAYERS = [
  ['lib'],
  ['config', 'workspace', 'protocol'],
  ['store'],
  ['qa', 'forge', 'hub'],
  ['context'],
  ['lifecycle'],
  ['sync', 'deliver', 'fleet'],
  ['dispatch'],
  ['mcp'],
  ['compose'],
  ['cli'],
];

// Syntax refused everywhere (a block that adds entries must repeat these: it replaces the list).
const RESTRICTED_SYNTAX = [
  { selector: 'TSEnumDeclaration', message: 'Use a string-literal union or an as-const object.' },
  { selector: 'ExportAllDeclaration', message: 'Name the public surface: no export *.' },
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'test-artifacts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-restricted-syntax': ['error', ...RESTRICTED_SYNTAX],
    },
  },
  {
    // Only the config module reads the environment.
    files: ['src/**/*.ts'],
    ignores: ['src/config/**'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read settings through src/config only.' },
      ],
    },
  },
  {
    // Degraded mode is an engine (src/store/files/): domain code works on the store's groups and
    // never branches on whether the configured engine opened. Reporting it (doctor, stats, the
    // context's log line, sync's choice of state files) is done outside these folders.
    files: [
      'src/dispatch/**/*.ts',
      'src/lifecycle/**/*.ts',
      'src/fleet/**/*.ts',
      'src/deliver/**/*.ts',
    ],
    ignores: ['src/lifecycle/stats.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        ...RESTRICTED_SYNTAX,
        {
          selector: "MemberExpression[property.name='degraded']",
          message:
            'Do not branch on store.degraded here: the file engine serves every group in degraded mode (check ownsStateFiles for who writes a state file).',
        },
      ],
    },
  },
  {
    // A test must hold on its own: benchmarks are free to change, so no test depends on one.
    files: ['test/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [{ group: ['**/bench/**'], message: 'Tests must not import bench/ modules.' }],
        },
      ],
    },
  },
  {
    // The dashboard's browser script: a classic script in the page, with the browser's globals.
    files: ['src/hub/dashboard/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: {
        window: 'readonly',
        document: 'readonly',
        location: 'readonly',
        history: 'readonly',
        sessionStorage: 'readonly',
        fetch: 'readonly',
        URLSearchParams: 'readonly',
      },
    },
    rules: { 'max-lines': ['error', { max: 300 }] },
  },
  {
    // Layers one way, no import loops, and files small enough to read in one sitting. A file
    // that must stay longer says why in an `eslint-disable max-lines -- <reason>` comment.
    files: ['src/**/*.ts'],
    plugins: { local },
    rules: {
      'local/layers': ['error', { layers: LAYERS }],
      'local/no-import-loop': 'error',
      'max-lines': ['error', { max: 300 }],
    },
  },
);
