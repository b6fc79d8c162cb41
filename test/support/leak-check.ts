import { afterAll, expect } from 'vitest'
import { killAll, processesUnder, waitUntilGone } from './processes.js'
import { testBase } from './temp.js'

/** After each test file: no process may still run inside this worker's test directories. */
afterAll(async () => {
  const base = testBase()
  const leaked = await waitUntilGone(() => processesUnder(base), 5000)
  killAll(leaked)
  expect(
    leaked.map((p) => `${p.pid} ${p.cmd}`),
    'child processes outlived their test file',
  ).toEqual([])
})
