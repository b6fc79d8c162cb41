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
  const native = nativeCodexBinary(require)
  if (native) return native
  try {
    return require.resolve('@openai/codex/bin/codex.js')
  } catch {
    return findOnPath(process.platform === 'win32' ? 'codex.exe' : 'codex')
  }
}

/** The native codex of the platform package `require` finds (what the Node wrapper starts), or null. */
export function nativeCodexBinary(require: NodeJS.Require): string | null {
  const key = `${process.platform}-${process.arch}`
  const triple = targets[key]
  if (!triple) return null
  try {
    const pkgJson = require.resolve(`@openai/codex-${key}/package.json`)
    const native = path.join(
      path.dirname(pkgJson),
      'vendor',
      triple,
      'bin',
      process.platform === 'win32' ? 'codex.exe' : 'codex',
    )
    return existsSync(native) ? native : null
  } catch {
    // platform package not installed
    return null
  }
}

export { findOnPath }
