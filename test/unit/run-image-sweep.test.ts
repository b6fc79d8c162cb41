import { existsSync, mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { stageImages, sweepRunImages } from '../../src/core/staged-images.js'
import { expectSwept, makeLookAlikes } from '../support/owned-dir-lookalikes.js'
import { onePixelPng } from '../support/png.js'
import { moduleUrl, startScriptGateway } from '../support/script-gateway.js'
import { removeDir, tempDir } from '../support/temp.js'

/** Run-image copies: any name, the owner file beside (src/core/staged-images.ts). */
const runImageLayout = { prefix: '', owner: 'beside' } as const

let tmp: string
beforeEach(() => {
  tmp = tempDir('run-image-sweep-')
})
afterEach(() => removeDir(tmp))

describe('run-image copies left by a killed gateway (real processes)', () => {
  it('a starting gateway removes those whose gateway is gone, and no look-alike, live one or link', async () => {
    const workspace = path.join(tmp, 'workspace')
    const dataDir = path.join(tmp, 'data')
    mkdirSync(workspace)
    mkdirSync(dataDir)
    const image = path.join(workspace, 'pic.png')
    writeFileSync(image, onePixelPng)
    // a gateway that copies a run's image, and a turn's of a container session into that session's image
    // directory (session-image-dirs.ts), then is killed while both would still be going
    const gateway = startScriptGateway(
      tmp,
      `import { stageImages } from ${moduleUrl('src/core/staged-images.ts')}
import { sessionImageDir } from ${moduleUrl('src/core/session-image-dirs.ts')}
const staged = await stageImages([${JSON.stringify(image)}], [${JSON.stringify(workspace)}], ${JSON.stringify(dataDir)}, 'run_killed')
const session = sessionImageDir(${JSON.stringify(dataDir)}, 'ses_killed')()
const turn = await stageImages([${JSON.stringify(image)}], [${JSON.stringify(workspace)}], ${JSON.stringify(dataDir)}, 'turn_killed', { into: session.path })
console.log(JSON.stringify([staged.paths[0], turn.paths[0]]))`,
    )
    let left: string
    let sessionLeft: string
    try {
      const [copy, turnCopy] = JSON.parse(await gateway.firstLine) as [string, string]
      left = path.dirname(copy)
      sessionLeft = path.dirname(path.dirname(turnCopy))
      expect(path.basename(sessionLeft)).toMatch(/^ses_killed-/)
      // what the session's container mounts: its turns' directories alone (its owner file is beside it)
      expect(readdirSync(sessionLeft)).toEqual([expect.stringMatching(/^turn_killed-/)])
      expect(existsSync(`${sessionLeft}.owner`)).toBe(true)
      // the container's user, who may not be the gateway's, reads a copy by its path; none lists the directories
      const mode = (p: string) => statSync(p).mode & 0o777
      expect([sessionLeft, path.dirname(turnCopy), turnCopy].map(mode)).toEqual([0o711, 0o711, 0o644])
      // a run's own copies for a process on the host stay the gateway's alone
      expect([left, copy].map(mode)).toEqual([0o700, 0o600])
      const base = path.join(dataDir, 'run-images')
      expect(path.dirname(left)).toBe(base)
      expect(path.basename(left)).toMatch(/^run_killed-/)
      // what the agent (or a container that mounts the directory) sees: the copy alone
      expect(readdirSync(left)).toEqual([path.basename(copy)])
      // while its gateway runs, the copy stays
      expect(await sweepRunImages(dataDir)).toBe(0)
      expect(existsSync(copy)).toBe(true)
    } finally {
      await gateway.kill()
    }
    const base = path.dirname(left)
    const ownerFile = `${left}.owner`
    const lookAlikes = makeLookAlikes(base, runImageLayout, left, tmp)
    const { owner } = lookAlikes
    expect(owner.pid).toBe(gateway.child.pid)
    // this process's own (a live gateway's run) stays
    const live = await stageImages([image], [workspace], dataDir, 'run_live')

    // a data dir whose run-images is a link out of it: nothing there is touched, stale or not
    const linkedData = path.join(tmp, 'linked-data')
    mkdirSync(linkedData)
    const outside = path.join(tmp, 'outside')
    const outsideStale = path.join(outside, 'run_out-AbC123')
    mkdirSync(outsideStale)
    writeFileSync(`${outsideStale}.owner`, JSON.stringify({ ...owner, bootId: 'an-earlier-boot' }))
    symlinkSync(outside, path.join(linkedData, 'run-images'))
    expect(await sweepRunImages(linkedData)).toBe(0)
    expect(existsSync(outsideStale)).toBe(true)

    expect(await sweepRunImages(dataDir)).toBe(4)
    expectSwept(lookAlikes)
    const liveDir = path.dirname(live.paths[0]!)
    for (const gone of [left, ownerFile, sessionLeft, `${sessionLeft}.owner`])
      expect(existsSync(gone), gone).toBe(false)
    for (const kept of [liveDir, `${liveDir}.owner`]) expect(existsSync(kept), kept).toBe(true)
    // and a run's own end removes its copy with its owner file
    await live.dispose()
    expect(existsSync(liveDir)).toBe(false)
    expect(existsSync(`${liveDir}.owner`)).toBe(false)
  })
})
