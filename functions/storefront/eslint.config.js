// ESLint for the storefront's scripts: the pages' modules run in the browser; the tests run
// under Node, and the browser tests hand functions to the page (`page.evaluate`), so both sets
// of globals hold there.

import js from '@eslint/js';
import {defineConfig} from 'eslint/config';
import globals from 'globals';

export default defineConfig([
  {ignores: ['assets/vendor/']},
  js.configs.recommended,
  {files: ['assets/js/**/*.js'], languageOptions: {globals: globals.browser}},
  {files: ['tests/**/*.mjs'], languageOptions: {globals: {...globals.node, ...globals.browser}}},
  {files: ['eslint.config.js'], languageOptions: {globals: globals.node}},
]);
