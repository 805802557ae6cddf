// Lint rules after the Temporal TypeScript samples and SDK: typescript-eslint's recommended set, the
// promise rules that need type information, and, for workflow code, no Node built-ins and no runtime
// import of activities (workflows run in a deterministic sandbox and call activities through proxies).
// Formatting is Prettier's business: eslint-config-prettier turns off every rule it would fight.
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

const nodeBuiltins = builtinModules.filter((m) => !m.startsWith('_'));

// All SQL lives in db/ (issue 19): code elsewhere calls db/'s named functions with the `Db` and
// `Transaction` types of db/db.ts, never knex or pg themselves, and holds no statement text.
// Exempt: db/ itself; test/ (tests set up and inspect rows directly, and create their databases);
// dev/embedded-postgres.ts, whose `SELECT 1` through pg is the readiness probe of the embedded
// server it starts (below the application's database layer, which then connects through db/);
// and this file, whose selectors spell the SQL they look for.
const SQL_HOME = 'SQL and database calls live in db/: call (or add) a named function there.';
const sqlImports = {
  paths: ['knex', 'pg'].map((name) => ({ name, message: `${SQL_HOME} For the types, import Db or Transaction from db/db.ts.` })),
  // Their files (knex/lib/…) and pg's own packages (pg-pool, pg-protocol …).
  patterns: [{ regex: '^(knex|pg)/|^pg-', message: SQL_HOME }],
};
const DB_HANDLE = '/^(db|trx|knex)$/';
const sqlOutsideDb = [
  // Statement text: SELECT … FROM, INSERT … INTO, UPDATE … SET, DELETE … FROM.
  ...['Literal[value', 'TemplateElement[value.raw'].map((node) => ({
    selector: `${node}=/\\b(SELECT|INSERT|UPDATE|DELETE)\\b[\\s\\S]*\\b(FROM|INTO|SET)\\b/]`,
    message: `SQL text outside db/. ${SQL_HOME}`,
  })),
  // knex's query builder and its handle: db('table'), this.db('table'), db.raw(…), db.fn.now(), db.transaction(…), db.destroy().
  { selector: `CallExpression[callee.type='Identifier'][callee.name=${DB_HANDLE}]`, message: `A query built outside db/. ${SQL_HOME}` },
  { selector: "CallExpression[callee.object.type='ThisExpression'][callee.property.name='db']", message: `A query built outside db/. ${SQL_HOME}` },
  { selector: "CallExpression[callee.property.name='raw']", message: `SQL text outside db/. ${SQL_HOME}` },
  { selector: "CallExpression[callee.property.name='transaction']", message: `${SQL_HOME} (inTransaction of db/db.ts runs one)` },
  { selector: `MemberExpression[object.name=${DB_HANDLE}][property.name='fn']`, message: SQL_HOME },
  {
    selector: `CallExpression[callee.object.name=${DB_HANDLE}][callee.property.name='destroy']`,
    message: `${SQL_HOME} (closeDb of db/db.ts closes the handle)`,
  },
];

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
    ignores: ['db/**', 'test/**', 'dev/embedded-postgres.ts', 'eslint.config.mjs'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', sqlImports],
      'no-restricted-syntax': ['error', ...sqlOutsideDb],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      // Replaces the rule's options of the block above for these files: the SQL restrictions are repeated here.
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            ...sqlImports.paths,
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
            ...sqlImports.patterns,
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
