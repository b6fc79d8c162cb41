import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

/**
 * The layers of DESIGN.md, enforced: protocol (zod only) <- store/process/agents <- core <- http.
 * Every import and export-from of every file under src/ is checked (type-only imports too).
 */
const src = path.resolve(import.meta.dirname, '../../src')

/** Top-level folders of src/ a layer must not import from. */
const forbidden: Record<string, string[]> = {
  protocol: ['config', 'util', 'store', 'process', 'agents', 'core', 'http'],
  util: ['config', 'store', 'process', 'agents', 'core', 'http'],
  config: ['store', 'process', 'agents', 'core', 'http'],
  store: ['process', 'agents', 'core', 'http'],
  process: ['store', 'agents', 'core', 'http'],
  agents: ['store', 'core', 'http'],
  core: ['http'],
  /** Surfaces call core services only: no driver, no store. */
  http: ['agents', 'store'],
  /** The typed HTTP client (agent-gateway/client) runs in browsers and other programs: protocol types only. */
  client: ['config', 'util', 'store', 'process', 'agents', 'core', 'http'],
  /** The command line (src/main.ts dispatches to it): the top, above http. */
  cli: [],
}
/** Single files a layer may import although their folder is banned to it. */
const exceptions: Record<string, string[]> = {
  // the settings are the server's plus each driver's, from the drivers' index (descriptors)
  config: ['agents/index.ts'],
}
/** Packages a layer may import besides Node's own modules (protocol: zod alone, not even node:). */
const packagesAllowed: Record<string, (spec: string) => boolean> = {
  protocol: (spec) => spec === 'zod',
}

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) yield* sourceFiles(full)
    else if (entry.name.endsWith('.ts')) yield full
  }
}

const importPattern =
  /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g

function importsOf(code: string): string[] {
  return [...code.matchAll(importPattern)].map((m) => (m[1] ?? m[2]) as string)
}

function layerOf(file: string): string {
  return path.relative(src, file).split(path.sep)[0] as string
}

function violations(files: Iterable<string>, read: (file: string) => string): string[] {
  const found: string[] = []
  for (const file of files) {
    const layer = layerOf(file)
    if (!file.slice(src.length + 1).includes(path.sep)) continue // src/main.ts wires everything
    const banned = forbidden[layer]
    if (!banned) {
      found.push(`${path.relative(src, file)}: folder "${layer}" has no layer rule`)
      continue
    }
    for (const spec of importsOf(read(file))) {
      const where = path.relative(src, file)
      if (spec.startsWith('.')) {
        const target = path.resolve(path.dirname(file), spec)
        const targetLayer = layerOf(target)
        const targetFile = path.relative(src, target).replace(/\.js$/, '.ts')
        if (
          target.startsWith(src) &&
          banned.includes(targetLayer) &&
          !exceptions[layer]?.includes(targetFile)
        )
          found.push(`${where} imports ${spec}`)
      } else {
        const allowed = packagesAllowed[layer]
        if (allowed && !allowed(spec)) found.push(`${where} imports package ${spec}`)
      }
    }
  }
  return found
}

describe('layering', () => {
  it('finds imports, re-exports and dynamic imports', () => {
    const code = [
      "import { a } from '../core/x.js'",
      "import type { B } from '../http/y.js'",
      "export { c } from './z.js'",
      "const m = await import('../store/w.js')",
      "import {\n  d,\n  e,\n} from 'zod'",
    ].join('\n')
    expect(importsOf(code).sort()).toEqual(['../core/x.js', '../http/y.js', '../store/w.js', './z.js', 'zod'])
  })

  it('reports an upward import and a package in protocol', () => {
    const files: Record<string, string> = {
      [path.join(src, 'protocol/x.ts')]: "import { a } from '../config/schema.js'\nimport pino from 'pino'",
      [path.join(src, 'agents/y.ts')]:
        "import type { B } from '../core/errors.js'\nimport { c } from '../protocol/z.js'",
      [path.join(src, 'core/z.ts')]: "import { d } from '../http/context.js'",
    }
    expect(violations(Object.keys(files), (f) => files[f] as string)).toEqual([
      'protocol/x.ts imports ../config/schema.js',
      'protocol/x.ts imports package pino',
      'agents/y.ts imports ../core/errors.js',
      'core/z.ts imports ../http/context.js',
    ])
  })

  it('no layer imports from a layer above it; protocol depends on zod alone', () => {
    expect(violations(sourceFiles(src), (f) => readFileSync(f, 'utf8'))).toEqual([])
  })
})
