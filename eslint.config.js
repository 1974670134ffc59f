// ESLint flat config: typescript-eslint's recommended rules, plus the module-boundary rule
// of design.md: src/promql and src/enforce are framework-free (no Express, no node:http,
// nothing else from src/).
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
  {
    files: ['src/promql/**/*.ts', 'src/enforce/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['express', 'express/*', 'node:http', 'http', 'node:https', 'https', 'http-proxy-middleware', 'passport*'], message: 'src/promql and src/enforce are framework-free (design.md module map).' },
          { group: ['../config/*', '../auth/*', '../tenancy/*', '../routes/*', '../upstream/*', '../http/*', '../observability/*', '../app*', '../cli*'], message: 'src/promql and src/enforce import nothing from the rest of src/.' },
        ],
      }],
    },
  },
);
