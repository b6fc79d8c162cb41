import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import type { TestProject } from 'vitest/node'

/**
 * What a run's test files need of global setup: the container test image (1-2 s to check, a minute or two
 * to build) and the PostgreSQL template (an initdb, about a second). A run of unit files needs neither. A
 * file needs the image if it imports, directly or through the test helpers it imports, test/support's
 * containers.ts or container-image.ts (the only ways to the engine's settings and the image's tag); the
 * template if it reaches test/support/postgres.ts. A misjudged file still works, only slower: testImage()
 * makes sure of the image itself, and a server without the template runs its own initdb.
 */
export interface SuiteNeeds {
  containers: boolean
  postgres: boolean
}

const supportDir = path.resolve(import.meta.dirname)
const containerModules = ['containers.ts', 'container-image.ts'].map((f) => path.join(supportDir, f))
const postgresModule = path.join(supportDir, 'postgres.ts')

/** Everything, when the run's files are not known. */
export const allNeeds: SuiteNeeds = { containers: true, postgres: true }

/**
 * The run's test files, as vitest has them when global setup runs (vitest.state: an experimental API), or
 * undefined when that API is not there. Global setup runs once: a watch-mode rerun's files are not in it
 * (see above).
 */
export function runFiles(project: TestProject): string[] | undefined {
  try {
    const paths = project.vitest.state.getPaths()
    return Array.isArray(paths) ? paths : undefined
  } catch {
    return undefined
  }
}

export function suiteNeeds(files: string[] | undefined): SuiteNeeds {
  if (!files) return allNeeds
  const reached = reachableModules(files)
  return {
    containers: containerModules.some((m) => reached.has(m)),
    postgres: reached.has(postgresModule),
  }
}

/** The files and, transitively, the relative imports of files under test/ (src/ never imports the tests). */
export function reachableModules(files: string[]): Set<string> {
  const testRoot = path.dirname(supportDir)
  const seen = new Set<string>()
  const visit = (file: string) => {
    if (seen.has(file) || !file.startsWith(`${testRoot}${path.sep}`)) return
    seen.add(file)
    for (const spec of relativeImports(readFileSync(file, 'utf8'))) {
      const target = resolveTs(path.resolve(path.dirname(file), spec))
      if (target) visit(target)
    }
  }
  for (const file of files) visit(path.resolve(file))
  return seen
}

/** The relative specifiers of static imports, re-exports and dynamic imports. */
function relativeImports(source: string): string[] {
  return [...source.matchAll(/(?:\bfrom|\bimport)\s*\(?\s*['"](\.\.?\/[^'"]+)['"]/g)].map((m) => m[1] ?? '')
}

/** A `./x.js` specifier names x.ts in this project (NodeNext style); other files are taken as they are. */
function resolveTs(file: string): string | undefined {
  const candidates = file.endsWith('.js') ? [`${file.slice(0, -3)}.ts`, file] : [file, `${file}.ts`]
  return candidates.find((c) => existsSync(c))
}
