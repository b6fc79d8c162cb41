import { existsSync } from 'node:fs'
import path from 'node:path'

/**
 * Makes codex's generated bindings valid NodeNext ESM: `generate-ts` writes extensionless relative imports
 * (`from "./ThreadId"`, `from "./v2"`), which TypeScript rejects under NodeNext (TS2835). Each such specifier
 * gets `.js`, or `/index.js` when it names a folder. Nothing else in the file changes.
 */
export function addJsExtensions(source: string, fileDir: string): string {
  return source.replace(
    /(\bfrom\s+")(\.{1,2}\/[^"]*)(")/g,
    (match, before: string, spec: string, after: string) => {
      if (/\.[cm]?js$/.test(spec)) return match
      const isFolder = existsSync(path.join(fileDir, spec, 'index.ts'))
      return `${before}${spec}${isFolder ? '/index.js' : '.js'}${after}`
    },
  )
}
