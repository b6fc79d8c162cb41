import { existsSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { BaseSequencer, type TestSpecification } from 'vitest/node'
import { longestFirst } from './longest-first.js'

/** Test file durations of an earlier run (ms by path), kept by `node scripts/test-durations.mjs`. */
export const durationsFile = path.resolve(import.meta.dirname, 'durations.json')

/**
 * vitest's `sequence.sequencer`: the files longest first (longest-first.ts), those of a project that does not
 * isolate its files (vitest.config.ts) after all others: vitest hands a worker's loaded modules on to the next
 * file only when that file is queued right after and shares them too. Sharding stays vitest's own.
 */
export class DurationSequencer extends BaseSequencer {
  override async sort(specs: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root
    const files = specs.map((spec) => ({
      spec,
      path: path.relative(root, spec.moduleId).split(path.sep).join('/'),
      size: statSync(spec.moduleId).size,
    }))
    const ordered = longestFirst(files, readDurations())
    const isolated = ordered.filter((f) => f.spec.project.config.isolate)
    const shared = ordered.filter((f) => !f.spec.project.config.isolate)
    return [...isolated, ...shared].map((f) => f.spec)
  }
}

function readDurations(): Record<string, number> {
  if (!existsSync(durationsFile)) return {}
  return JSON.parse(readFileSync(durationsFile, 'utf8')) as Record<string, number>
}
