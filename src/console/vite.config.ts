import { resolve } from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/** The console (issue 18): built into dist/console, served by Gatehouse at /console/ and at the email links' paths. */
export default defineConfig({
  root: resolve(__dirname, 'web'),
  base: '/console/',
  plugins: [react()],
  logLevel: 'warn',
  build: { outDir: resolve(__dirname, '../../dist/console'), emptyOutDir: true, sourcemap: false },
});
