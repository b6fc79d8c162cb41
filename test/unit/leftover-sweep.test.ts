import { existsSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { LeftoverSweep, leftoversSweptMessage } from '../../src/core/ops/leftover-sweep.js'
import { procStat } from '../../src/process/proc-stat.js'
import { removeDir, tempDir } from '../support/temp.js'

let root: string
let tmp: string
let dataDir: string
beforeEach(() => {
  root = tempDir('leftover-sweep-')
  tmp = path.join(root, 'tmp')
  dataDir = path.join(root, 'data')
  mkdirSync(tmp)
  mkdirSync(path.join(dataDir, 'run-images'), { recursive: true })
})
afterEach(() => removeDir(root))

/** An owner file's text for a gateway of before the last boot (gone for sure), or for this live process. */
function ownerText(live: boolean): string {
  return JSON.stringify({
    pid: process.pid,
    startTime: procStat(process.pid)!.startTime,
    pidNamespace: readlinkSync('/proc/self/ns/pid'),
    bootId: live ? readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() : 'an-earlier-boot',
  })
}

/** Directories in the three places and layouts a gateway leaves: listener (owner inside), staged and image copy (beside). */
function leave(live: boolean): string[] {
  const tag = live ? 'live' : 'gone'
  const listener = path.join(tmp, `agent-gateway-spawn-1-${tag}`)
  mkdirSync(listener)
  writeFileSync(path.join(listener, 'owner'), ownerText(live))
  const beside = [
    path.join(tmp, `agent-gateway-staged-1-${tag}`),
    path.join(dataDir, 'run-images', `run_${tag}-x`),
  ]
  for (const dir of beside) {
    mkdirSync(dir)
    writeFileSync(`${dir}.owner`, ownerText(live))
  }
  return [listener, ...beside]
}

/** A logger that keeps its lines. */
function lines() {
  const logged: Array<{ level: string; obj: Record<string, unknown>; msg: string }> = []
  const at = (level: string) => (obj: Record<string, unknown>, msg: string) =>
    void logged.push({ level, obj, msg })
  return { logged, log: { info: at('info'), error: at('error') } }
}

describe('the start-up sweep of what killed gateways left', () => {
  it('runs when started, in one pass over the temp dir and one over run-images, and says what it removed', async () => {
    const gone = leave(false)
    const live = leave(true)
    const sweep = new LeftoverSweep(dataDir, tmp)
    const { logged, log } = lines()
    // nothing happens before it is started (the gateway starts it once it listens)
    expect(gone.every((d) => existsSync(d))).toBe(true)
    sweep.start(log)
    expect(await sweep.done).toEqual({ tempDirs: 2, runImages: 1 })
    for (const dir of gone) expect(existsSync(dir), dir).toBe(false)
    for (const dir of live) expect(existsSync(dir), dir).toBe(true)
    expect(logged).toEqual([
      { level: 'info', obj: { tempDirs: 2, runImages: 1, cancelled: false }, msg: leftoversSweptMessage },
    ])
    // started twice, it sweeps once
    sweep.start(log)
    await sweep.stop()
    expect(logged).toHaveLength(1)
  })

  it('stopped before it started, it never sweeps; stopped at once, it removes nothing more and ends', async () => {
    const gone = leave(false)
    const never = new LeftoverSweep(dataDir, tmp)
    await never.stop()
    expect(await never.done).toBeUndefined()
    const { logged, log } = lines()
    never.start(log)
    expect(await never.done).toBeUndefined()
    expect(gone.every((d) => existsSync(d))).toBe(true)
    expect(logged).toEqual([])

    const cut = new LeftoverSweep(dataDir, tmp)
    cut.start(log)
    await cut.stop()
    // cancelled before its first directory (start() reads the temp dir first, stop() aborts meanwhile)
    expect(await cut.done).toEqual({ tempDirs: 0, runImages: 0 })
    expect(gone.every((d) => existsSync(d))).toBe(true)
    expect(logged).toEqual([
      { level: 'info', obj: { tempDirs: 0, runImages: 0, cancelled: true }, msg: leftoversSweptMessage },
    ])
  })
})
