import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync } from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { deadOwner, ownerOf } from '../support/process-owner.js'
import { makeSuiteRoot, removeOrphanedRoots, suiteId, unownedMaxAgeMs } from '../support/suite-roots.js'
import { removeDir, tempDir } from '../support/temp.js'

const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) removeDir(dir)
})

describe('suite roots: the agw-tests-* directories a killed run leaves', () => {
  it('removes the roots whose owner is gone and old roots without an owner; keeps live and young ones', async () => {
    // a temp dir of its own stands for os.tmpdir(): other runs' roots are not this test's business
    const tmp = tempDir('suite-roots-')
    dirs.push(tmp)
    const orphan = makeSuiteRoot(tmp, await deadOwner())
    const live = makeSuiteRoot(tmp, ownerOf(process.pid))
    const reused = makeSuiteRoot(tmp, { pid: process.pid, startTime: '1' })
    // roots of runs from before owner files: one older than any run lasts, one that may still be in use
    const oldUnowned = path.join(tmp, 'agw-tests-legacy1')
    const youngUnowned = path.join(tmp, 'agw-tests-legacy2')
    mkdirSync(oldUnowned)
    mkdirSync(youngUnowned)
    const past = new Date(Date.now() - unownedMaxAgeMs - 60_000)
    utimesSync(oldUnowned, past, past)
    const notOurs = path.join(tmp, 'something-else')
    mkdirSync(notOurs)
    // an agent the killed run left running in its workspace
    const workspace = path.join(orphan, 'w1', 'workspace')
    mkdirSync(workspace, { recursive: true })
    const agent = spawn('cat', [], { cwd: workspace, stdio: ['pipe', 'ignore', 'ignore'] })
    const agentExit = new Promise<NodeJS.Signals | null>((resolve) =>
      agent.once('exit', (_, s) => resolve(s)),
    )
    try {
      const containersOf: string[][] = []
      const removed = await removeOrphanedRoots(tmp, async (suites) => {
        containersOf.push(suites)
      })

      expect(removed.sort()).toEqual([oldUnowned, orphan, reused].sort())
      expect(containersOf).toHaveLength(1)
      expect(containersOf[0]?.sort()).toEqual([oldUnowned, orphan, reused].map(suiteId).sort())
      expect(await agentExit).toBe('SIGKILL')
      expect(readdirSync(tmp).sort()).toEqual(
        [path.basename(live), path.basename(youngUnowned), 'something-else'].sort(),
      )
      expect(JSON.parse(readFileSync(path.join(live, 'owner.json'), 'utf8'))).toEqual(ownerOf(process.pid))
    } finally {
      agent.kill('SIGKILL')
    }
  })

  it('asks for no containers when no root is orphaned', async () => {
    const tmp = tempDir('suite-roots-')
    dirs.push(tmp)
    makeSuiteRoot(tmp, ownerOf(process.pid))
    let asked = false
    const removed = await removeOrphanedRoots(tmp, async () => {
      asked = true
    })
    expect(removed).toEqual([])
    expect(asked).toBe(false)
    expect(existsSync(tmp)).toBe(true)
  })

  it('names a root’s containers by the suite id its gateways carry (containers.ts)', () => {
    expect(suiteId('/tmp/agw-tests-AbC_12x')).toBe('agwtestsabc12x')
  })
})
