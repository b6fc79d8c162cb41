import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { descendants, terminateGroup } from '../../src/process/terminate.js'
import { killAll, listProcesses, processesUnder, waitUntilGone } from '../support/processes.js'
import { removeDir, tempDir } from '../support/temp.js'

let cwd: string
beforeEach(() => {
  cwd = tempDir('terminate-')
})
afterEach(async () => {
  killAll(processesUnder(cwd))
  await waitUntilGone(() => processesUnder(cwd), 5000)
  removeDir(cwd)
})

/** `sh -c script` leading a process group of its own, in the test's directory. */
function leader(script: string): number {
  const child = spawn('sh', ['-c', script], { cwd, detached: true, stdio: 'ignore' })
  child.on('error', () => {})
  child.unref()
  return child.pid!
}

describe('terminateGroup', () => {
  it('finds the tree again for SIGKILL: what a member forked during the grace is killed too', async () => {
    const late = path.join(cwd, 'late.pid')
    // the member in a session of its own answers SIGTERM by starting a helper in yet another session
    const pid = leader(
      `setsid sh -c 'trap "setsid sleep 301 & echo \\$! > late.pid" TERM; while :; do sleep 1; done' & wait`,
    )
    const member = () => listProcesses().find((p) => p.cmd.startsWith('sh -c trap') && p.pgid !== pid)
    await expect
      .poll(() => member() !== undefined && descendants(member()!.pid).length > 0, { timeout: 10_000 })
      .toBe(true)
    expect(descendants(pid)).toContain(member()!.pid)
    terminateGroup(pid, 500)
    await expect
      .poll(() => existsSync(late) && readFileSync(late, 'utf8').trim() !== '', { timeout: 10_000 })
      .toBe(true)
    const latePid = Number(readFileSync(late, 'utf8'))
    expect(await waitUntilGone(() => listProcesses().filter((p) => p.pid === latePid), 10_000)).toEqual([])
  })

  it('descendants() lists children and grandchildren, in other sessions too, and nothing else', async () => {
    const pid = leader('sleep 302 & setsid sh -c "sleep 303 & wait" & wait')
    await expect
      .poll(() => processesUnder(cwd).filter((p) => p.cmd.startsWith('sleep 30')).length, { timeout: 10_000 })
      .toBe(2)
    const tree = descendants(pid).sort((a, b) => a - b)
    const expected = processesUnder(cwd)
      .filter((p) => p.pid !== pid)
      .map((p) => p.pid)
      .sort((a, b) => a - b)
    expect(tree).toEqual(expected)
    expect(tree).toHaveLength(3)
    expect(descendants(2147483646)).toEqual([])
  })
})
