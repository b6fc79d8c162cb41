#!/usr/bin/env node
// Builds the web console into dist/web with Vite. Run by `npm ci`/`npm install` (prepare) and by `npm run build`
// or `npm run build:web`; `npm start` runs plain node and builds nothing. `--if-missing` skips an existing build.
// Without Vite (an install without it) it says so and leaves the build as it is.
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'

const root = path.resolve(import.meta.dirname, '..')
const built = path.join(root, 'dist/web/index.html')
if (process.argv.includes('--if-missing') && existsSync(built)) process.exit(0)
let vite
try {
  vite = await import(createRequire(path.join(root, 'package.json')).resolve('vite'))
} catch {
  console.warn('build-web: vite is not installed (dev dependencies omitted); the console is not rebuilt')
  process.exit(0)
}
await vite.build({ configFile: path.join(root, 'web/vite.config.ts'), logLevel: 'warn' })
console.log(`build-web: wrote ${path.relative(root, path.dirname(built))}`)
