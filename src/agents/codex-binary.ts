import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { findOnPath } from './cli-binary.js'

/**
 * Finds codex's native binary inside its platform package (@openai/codex-<platform>-<arch>), skipping the
 * Node wrapper script (~250 ms and one extra Node process per spawn). Falls back to the wrapper, then PATH.
 */
const targets: Record<string, string> = {
  'linux-x64': 'x86_64-unknown-linux-musl',
  'linux-arm64': 'aarch64-unknown-linux-musl',
  'darwin-x64': 'x86_64-apple-darwin',
  'darwin-arm64': 'aarch64-apple-darwin',
  'win32-x64': 'x86_64-pc-windows-msvc',
  'win32-arm64': 'aarch64-pc-windows-msvc',
}

export function resolveCodexBinary(override?: string): string | null {
  if (override) return existsSync(override) ? path.resolve(override) : null
  const require = createRequire(import.meta.url)
  const key = `${process.platform}-${process.arch}`
  const triple = targets[key]
  const exe = process.platform === 'win32' ? 'codex.exe' : 'codex'
  if (triple) {
    try {
      const pkgJson = require.resolve(`@openai/codex-${key}/package.json`)
      const native = path.join(path.dirname(pkgJson), 'vendor', triple, 'bin', exe)
      if (existsSync(native)) return native
    } catch {
      // platform package not installed: fall through to the wrapper
    }
  }
  try {
    return require.resolve('@openai/codex/bin/codex.js')
  } catch {
    return findOnPath(exe)
  }
}

export { findOnPath }
