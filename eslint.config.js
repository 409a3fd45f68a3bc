// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', '.node/', 'dist/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  {
    files: ['test/**/*.ts'],
    ignores: ['test/eventually.ts'],
    rules: {
      'no-restricted-properties': ['error', { object: 'vi', property: 'waitFor', message: "vi.waitFor gives up after 1 s, too soon on a loaded machine: use eventually() from test/eventually.ts" }],
    },
  },
);
