import path from 'node:path'
import preact from '@preact/preset-vite'
import { defineConfig } from 'vite'

/** The console: built into dist/web, which the gateway serves at `/` (src/http/console.ts). */
export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  plugins: [preact()],
  build: {
    outDir: path.resolve(import.meta.dirname, '../dist/web'),
    emptyOutDir: true,
    assetsDir: 'assets',
    reportCompressedSize: false,
  },
})
