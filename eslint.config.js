// ESLint flat config: typescript-eslint's recommended rules, plus the module-boundary rules
// of design.md / docs/architecture.md.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'coverage/**', '.tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      eqeqeq: ['error', 'always'],
    },
  },
  // Module boundaries (docs/architecture.md): the domain layers are framework-free and
  // import only what lies below them: promql ← access ← enforce.
  ...[
    { files: ['src/promql/**/*.ts'], below: [] },
    { files: ['src/access/**/*.ts'], below: ['promql'] },
    { files: ['src/enforce/**/*.ts'], below: ['promql', 'access'] },
  ].map(({ files, below }) => ({
    files,
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['express', 'express/*', 'node:http', 'http', 'node:https', 'https', 'node:net', 'passport*', 'winston', 'prom-client'], message: 'src/promql, src/access and src/enforce are framework-free (design.md module map).' },
          {
            group: ['config', 'auth', 'routes', 'upstream', 'http', 'observability', 'commands', 'promql', 'access', 'enforce', 'app*', 'server*', 'cli*']
              .filter((m) => !below.includes(m) && !files[0].includes(`/${m}/`))
              .map((m) => `../${m}${m.endsWith('*') ? '' : '/*'}`),
            message: 'the domain layers import only the layers below them: promql ← access ← enforce.',
          },
        ],
      }],
    },
  })),
  // The upstream client and relay are framework-free too (no Express): they speak node:http only.
  {
    files: ['src/upstream/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['express', 'express/*', 'passport*'], message: 'src/upstream is framework-free: a node:http client and relay (design.md module map).' }],
      }],
    },
  },
);
