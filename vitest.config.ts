import { defineConfig } from 'vitest/config'
import { DurationSequencer } from './test/support/duration-sequencer.js'

/**
 * Unit files that need a fresh process: they assert on process-wide state of src/ (the spawn host a process
 * starts once, src/process/spawn-host.ts), or mock a module (vi.mock) that an earlier file in the same worker
 * would already have loaded unmocked.
 */
const freshProcessUnitFiles = [
  'test/unit/ids.test.ts',
  'test/unit/spawn-host.test.ts',
  'test/unit/spawn-host-start.test.ts',
  'test/unit/spawn-host-retry.test.ts',
  'test/unit/spawn-host-replace.test.ts',
  // its sweep goes through this process's spawn host, which a shared worker's earlier file may have killed
  // (spawn-host-stress.test.ts: a host that died young is not replaced)
  'test/unit/marked-processes.test.ts',
  // endEscaped without a host, then through this process's host (as marked-processes.test.ts)
  'test/unit/end-escaped.test.ts',
]
const unitFiles = 'test/unit/**/*.test.ts'

/** What both projects share (a project does not inherit the root's test options). */
const fileOptions = {
  testTimeout: 60_000,
  hookTimeout: 30_000,
  // state-check after leak-check: its afterAll runs first (reverse order), so no fake setTimeout is left there
  setupFiles: ['test/support/leak-check.ts', 'test/support/state-check.ts'],
}

export default defineConfig({
  test: {
    // Real CLIs and real servers: keep parallelism modest on 2-core machines.
    maxWorkers: 2,
    // the longest files first (test/support/durations.json), so both workers end together; the shared-modules
    // files after the others, so a worker runs them one after another on the modules it loaded once
    sequence: { sequencer: DurationSequencer },
    globalSetup: ['test/support/global-setup.ts'],
    reporters: ['default'],
    projects: [
      {
        test: {
          ...fileOptions,
          // the unit files share their worker's modules (no fresh module graph per file): each file loading
          // fastify, ajv, zod and src/ again cost the suite about 90 s of CPU (docs/benchmarks.md, session 23)
          name: 'shared-modules',
          include: [unitFiles],
          exclude: freshProcessUnitFiles,
          isolate: false,
        },
      },
      {
        test: {
          ...fileOptions,
          // servers, agents, browsers, containers and PostgreSQL: each file in a process of its own
          name: 'isolated',
          include: ['test/!(unit)/**/*.test.ts', ...freshProcessUnitFiles],
        },
      },
    ],
  },
})
