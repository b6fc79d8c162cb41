import { defineConfig } from 'vitest/config'
import { DurationSequencer } from './test/support/duration-sequencer.js'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    // Real CLIs and real servers: keep parallelism modest on 2-core machines.
    maxWorkers: 2,
    // the longest files first (test/support/durations.json), so both workers end together
    sequence: { sequencer: DurationSequencer },
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/leak-check.ts'],
    reporters: ['default'],
  },
})
