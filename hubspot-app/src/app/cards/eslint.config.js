// ESLint for this UI extension, read by both `hs project lint` (HubSpot's CLI runs `eslint .` here) and
// `npm run lint`: HubSpot's ui-extensions rules on top of the recommended JavaScript, TypeScript, React
// and React Hooks rules. The settings page and the deal card carry the same file (HubSpot's CLI wants
// one per extension folder); the project's structural test keeps them identical.
import js from '@eslint/js';
import { config as hubspotUiExtensions } from '@hubspot/eslint-config-ui-extensions';
import prettier from 'eslint-config-prettier';
import react from 'eslint-plugin-react';
import reactHooks from 'eslint-plugin-react-hooks';
import unusedImports from 'eslint-plugin-unused-imports';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig([
  { ignores: ['dist/'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  react.configs.flat.recommended,
  react.configs.flat['jsx-runtime'],
  { settings: { react: { version: '18.3' } } },
  hubspotUiExtensions,
  reactHooks.configs.flat.recommended,
  {
    plugins: { 'unused-imports': unusedImports },
    rules: {
      // Props are typed; TypeScript checks them.
      'react/prop-types': 'off',
      'unused-imports/no-unused-imports': 'error',
    },
  },
  // Formatting is not a lint matter.
  prettier,
]);
