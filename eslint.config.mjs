// Lint rules after the Temporal TypeScript samples and SDK: typescript-eslint's recommended set, the
// promise rules that need type information, and, for workflow code, no Node built-ins and no runtime
// import of activities (workflows run in a deterministic sandbox and call activities through proxies).
// Formatting is Prettier's business: eslint-config-prettier turns off every rule it would fight.
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

const nodeBuiltins = builtinModules.filter((m) => !m.startsWith('_'));

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.data/', 'test/fixtures/', 'bin/', 'demo/', 'deploy/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.mjs', 'scripts/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'object-shorthand': ['error', 'always'],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            ...nodeBuiltins
              .flatMap((name) => [name, `node:${name}`])
              .map((name) => ({
                name,
                message: 'Workflow code runs in a deterministic sandbox without Node built-ins: do this in an activity.',
              })),
            ...['@temporalio/activity', '@temporalio/client', '@temporalio/worker'].map((name) => ({
              name,
              message: 'Workflow code may use @temporalio/workflow and @temporalio/common only.',
            })),
          ],
          patterns: [
            {
              group: ['../activities', '../activities/*', '**/activities', '**/activities/*'],
              allowTypeImports: true,
              message: 'Workflows call activities through proxyActivities: import their types only (`import type`).',
            },
          ],
        },
      ],
    },
  },
  prettier,
);
