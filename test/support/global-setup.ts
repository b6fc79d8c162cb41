import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { killAll, processesUnder, waitUntilGone } from './processes.js'

/**
 * One temp root for the whole suite (workers inherit it through AGW_TEST_TMP). At the end, any process
 * still running inside it is a leak: it is killed and the suite fails.
 */
export default function setup() {
  const root = mkdtempSync(path.join(os.tmpdir(), 'agw-tests-'))
  process.env.AGW_TEST_TMP = root
  return async () => {
    const leaked = await waitUntilGone(() => processesUnder(root), 5000)
    killAll(leaked)
    rmSync(root, { recursive: true, force: true })
    if (leaked.length > 0)
      throw new Error(
        `child processes outlived the suite:\n${leaked.map((p) => `  ${p.pid} ${p.cmd}`).join('\n')}`,
      )
  }
}
