import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { killOrphanedGroup } from '../../src/process/orphans.js'
import { procStat } from '../../src/process/proc-stat.js'
import { serverMarker, serverMarkerVariable } from '../../src/process/server-marker.js'
import { descendants, killOwnGroup, terminateGroup } from '../../src/process/terminate.js'
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
function leader(script: string, env: NodeJS.ProcessEnv = process.env): number {
  const child = spawn('sh', ['-c', script], { cwd, env, detached: true, stdio: 'ignore' })
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
    const member = () => processesUnder(cwd).find((p) => p.cmd.startsWith('sh -c trap') && p.pgid !== pid)
    await expect
      .poll(() => member() !== undefined && descendants(member()!.pid).length > 0, { timeout: 10_000 })
      .toBe(true)
    expect(descendants(pid)).toContain(member()!.pid)
    // the grace must outlast the trap's start under load (the member's shell runs it once its `sleep 1` ended)
    terminateGroup(pid, 3000)
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

describe('signals by a remembered pid', () => {
  const alive = (pid: number) => listProcesses().some((p) => p.pid === pid)

  it('killOwnGroup leaves a group whose leader is another process than the one remembered (a reused pid)', async () => {
    const pid = leader('exec sleep 304')
    await expect.poll(() => procStat(pid)?.startTime, { timeout: 10_000 }).toBeDefined()
    const startTime = procStat(pid)!.startTime
    // the pid now names a process that started at another time than the one we started: not ours
    expect(killOwnGroup(pid, startTime + 1, 'SIGKILL')).toBe(false)
    expect(killOwnGroup(pid, undefined, 'SIGKILL')).toBe(false)
    expect(alive(pid)).toBe(true)
    expect(killOwnGroup(pid, startTime, 'SIGKILL')).toBe(true)
    expect(await waitUntilGone(() => listProcesses().filter((p) => p.pid === pid), 5000)).toEqual([])
  })

  it('killOwnGroup still ends what a leader that is gone left in its group', async () => {
    const pid = leader('sleep 305 & echo $! > member.pid')
    const memberFile = path.join(cwd, 'member.pid')
    await expect
      .poll(() => existsSync(memberFile) && readFileSync(memberFile, 'utf8').trim() !== '', {
        timeout: 10_000,
      })
      .toBe(true)
    const member = Number(readFileSync(memberFile, 'utf8'))
    await expect.poll(() => procStat(pid), { timeout: 10_000 }).toBeNull()
    expect(killOwnGroup(pid, 12345, 'SIGKILL')).toBe(true)
    expect(await waitUntilGone(() => listProcesses().filter((p) => p.pid === member), 5000)).toEqual([])
  })

  it('killOrphanedGroup ends a crashed server’s program, not the same program of a server that runs', async () => {
    const ofDeadServer = leader('exec sleep 306', { ...process.env, [serverMarkerVariable]: '2147483646:5' })
    const ofThisServer = leader('exec sleep 306', { ...process.env, [serverMarkerVariable]: serverMarker() })
    const unmarked = leader('exec sleep 306')
    await expect
      .poll(
        () =>
          [ofDeadServer, ofThisServer, unmarked].every(
            (pid) =>
              procStat(pid) !== null && readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('sleep'),
          ),
        { timeout: 10_000 },
      )
      .toBe(true)
    expect(killOrphanedGroup(ofThisServer, 'sleep')).toBe(false)
    expect(killOrphanedGroup(unmarked, 'sleep')).toBe(false)
    expect(killOrphanedGroup(ofDeadServer, 'sleep')).toBe(true)
    expect(await waitUntilGone(() => listProcesses().filter((p) => p.pid === ofDeadServer), 5000)).toEqual([])
    expect(alive(ofThisServer) && alive(unmarked)).toBe(true)
  })
})
