import { defineConfig } from 'vitest/config';

export default defineConfig({
  esbuild: { jsx: 'automatic' },
  test: { include: ['**/*.test.{ts,tsx}'], exclude: ['node_modules/**'], globals: true },
});
