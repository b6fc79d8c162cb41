import {
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { stageImages, sweepRunImages } from '../../src/core/staged-images.js'
import { moduleUrl, startScriptGateway } from '../support/script-gateway.js'
import { removeDir, tempDir } from '../support/temp.js'

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
    writeFileSync(image, 'png')
    // a gateway that copies a run's image, then is killed while the run would still be going
    const gateway = startScriptGateway(
      tmp,
      `import { stageImages } from ${moduleUrl('src/core/staged-images.ts')}
const staged = await stageImages([${JSON.stringify(image)}], [${JSON.stringify(workspace)}], ${JSON.stringify(dataDir)}, 'run_killed')
console.log(staged.paths[0])`,
    )
    let left: string
    try {
      const copy = await gateway.firstLine
      left = path.dirname(copy)
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
    const owner = JSON.parse(readFileSync(ownerFile, 'utf8'))
    expect(owner.pid).toBe(gateway.child.pid)

    // look-alikes: a name alone (no owner file), an owner in another pid namespace, another user's, a link to a
    // directory whose owner would qualify, an owner file that is a link
    const lookAlike = (name: string, ownerText?: string, parent = base) => {
      const dir = path.join(parent, name)
      mkdirSync(dir)
      writeFileSync(path.join(dir, 'keep'), '')
      if (ownerText !== undefined) writeFileSync(`${dir}.owner`, ownerText)
      return dir
    }
    const byName = lookAlike('run_byname-AbC123')
    const otherNamespace = lookAlike('run_ns-AbC123', JSON.stringify({ ...owner, pidNamespace: 'pid:[1]' }))
    const asRoot = process.getuid?.() === 0
    const otherUser = asRoot ? lookAlike('run_user-AbC123', JSON.stringify(owner)) : byName
    if (asRoot) chownSync(otherUser, 4242, 4242)
    const outside = path.join(tmp, 'outside')
    mkdirSync(outside)
    const target = lookAlike('elsewhere', JSON.stringify(owner), outside)
    const link = path.join(base, 'run_link-AbC123')
    symlinkSync(target, link)
    writeFileSync(`${link}.owner`, JSON.stringify(owner))
    const linkedOwner = lookAlike('run_linkedowner-AbC123')
    symlinkSync(ownerFile, `${linkedOwner}.owner`)
    // this process's own (a live gateway's run) stays
    const live = await stageImages([image], [workspace], dataDir, 'run_live')
    // gone with their makers: one left before the last boot, and an owner file whose directory a removal cut
    // short already took
    const earlierBoot = lookAlike('run_boot-AbC123', JSON.stringify({ ...owner, bootId: 'an-earlier-boot' }))
    const halfRemoved = path.join(base, 'run_half-AbC123')
    writeFileSync(`${halfRemoved}.owner`, JSON.stringify(owner))

    // a data dir whose run-images is a link out of it: nothing there is touched, stale or not
    const linkedData = path.join(tmp, 'linked-data')
    mkdirSync(linkedData)
    const outsideStale = lookAlike('run_out-AbC123', JSON.stringify(owner), outside)
    symlinkSync(outside, path.join(linkedData, 'run-images'))
    expect(await sweepRunImages(linkedData)).toBe(0)
    expect(existsSync(outsideStale)).toBe(true)

    expect(await sweepRunImages(dataDir)).toBe(3)
    for (const gone of [left, ownerFile, earlierBoot, `${earlierBoot}.owner`, `${halfRemoved}.owner`])
      expect(existsSync(gone), gone).toBe(false)
    const liveDir = path.dirname(live.paths[0]!)
    for (const kept of [byName, otherNamespace, otherUser, target, linkedOwner, liveDir, `${liveDir}.owner`])
      expect(existsSync(kept), kept).toBe(true)
    expect(existsSync(path.join(target, 'keep'))).toBe(true)
    expect(existsSync(`${otherNamespace}.owner`)).toBe(true)
    expect(lstatSync(link).isSymbolicLink()).toBe(true)
    expect(lstatSync(`${link}.owner`).isFile()).toBe(true)
    expect(lstatSync(`${linkedOwner}.owner`).isSymbolicLink()).toBe(true)
    // and a run's own end removes its copy with its owner file
    await live.dispose()
    expect(existsSync(liveDir)).toBe(false)
    expect(existsSync(`${liveDir}.owner`)).toBe(false)
  })
})
