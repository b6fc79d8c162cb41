import { afterAll, expect } from 'vitest'
import { killAll, processesUnder, waitUntilGone } from './processes.js'
import { testBase } from './temp.js'

/**
 * After each test file: no process may still run inside this worker's test directories (given waitUntilGone's
 * default, what a loaded machine may take to end and reap what a file's last close signalled).
 */
afterAll(async () => {
  const base = testBase()
  const leaked = await waitUntilGone(() => processesUnder(base))
  killAll(leaked)
  expect(
    leaked.map((p) => `${p.pid} ${p.cmd}`),
    'child processes outlived their test file',
  ).toEqual([])
})
