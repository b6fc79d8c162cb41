import { existsSync, mkdirSync, readdirSync, readlinkSync, renameSync, symlinkSync } from 'node:fs'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { readText } from '../../src/process/lines.js'
import { pacedSpawn } from '../../src/process/paced-spawn.js'
import { setBeforePinnedSpawn } from '../../src/process/pinned-cwd.js'
import { spawnHostReady } from '../../src/process/spawn-child.js'
import { type ChildSpawner, spawnGroup } from '../../src/process/spawn-group.js'
import { removeDir, tempDir } from '../support/temp.js'

/**
 * The cwd a run was admitted with is checked (resolveCwd: its real path inside the roots) before it is spawned;
 * a local user who can change the workspace may swap the directory for a symlink to elsewhere in between.
 * Before, the child was spawned by path and ran there. Now the spawner opens the directory, checks that it is
 * still the real path that was checked, and spawns into the opened directory (/proc/self/fd/N).
 */
let base: string
let root: string
let ws: string
let outside: string
beforeEach(() => {
  base = tempDir('pinned-cwd-')
  root = path.join(base, 'root')
  ws = path.join(root, 'ws')
  outside = path.join(base, 'outside')
  mkdirSync(ws, { recursive: true })
  mkdirSync(outside)
})
afterEach(() => {
  setBeforePinnedSpawn(undefined)
  removeDir(base)
})

/** The checked directory moves aside and a symlink to `outside` takes its path. */
function swap(): void {
  renameSync(ws, `${ws}.checked`)
  symlinkSync(outside, ws)
}

const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' }
/** Where the child runs, and a file it leaves there; then the descriptors it has. */
const where = `pwd -P; touch ran-here; ls /proc/$$/fd | tr '\\n' ' '`

async function run(spawner?: ChildSpawner) {
  const proc = spawnGroup({ command: 'sh', args: ['-c', where], cwd: ws, env, killGraceMs: 500 }, spawner)
  let out = ''
  for await (const t of readText(proc.stdout)) out += t
  return { outcome: await proc.done, out }
}

describe('the cwd is pinned at spawn', () => {
  it.each([
    ['the spawn host', undefined],
    ['this thread', pacedSpawn],
  ] as const)(
    '%s: a symlink swapped in after the check fails the spawn; nothing runs outside',
    async (_, spawner) => {
      if (!spawner) expect(await spawnHostReady()).toBe(true)
      swap()
      const { outcome, out } = await run(spawner)
      expect(outcome.reason, out).toBe('spawn_failed')
      expect(outcome.error).toContain('changed since it was checked')
      expect(existsSync(path.join(outside, 'ran-here'))).toBe(false)
    },
  )

  it('a swap after the directory was opened: the child runs in the checked directory, without its descriptor', async () => {
    let pinnedFd: number | undefined
    setBeforePinnedSpawn((fd) => {
      pinnedFd = fd
      swap()
    })
    const { outcome, out } = await run(pacedSpawn)
    expect(outcome.exitCode, out).toBe(0)
    const [cwd, fds] = out.split('\n')
    expect(cwd).toBe(`${ws}.checked`)
    expect(existsSync(path.join(`${ws}.checked`, 'ran-here'))).toBe(true)
    expect(existsSync(path.join(outside, 'ran-here'))).toBe(false)
    // the child has its stdio (and the shell's own 10+ descriptor), not the one the spawner opened
    expect(pinnedFd).toBeGreaterThan(2)
    expect(fds?.trim().split(' ')).not.toContain(String(pinnedFd))
    // and the spawner closed it: no descriptor of this process names the checked directory any more
    const held = readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`) === `${ws}.checked`
      } catch {
        return false
      }
    })
    expect(held).toEqual([])
  })

  it('an unchanged cwd runs as before, in the host and on this thread', async () => {
    expect(await spawnHostReady()).toBe(true)
    for (const spawner of [undefined, pacedSpawn]) {
      const { outcome, out } = await run(spawner)
      expect(outcome.exitCode, out).toBe(0)
      expect(out.split('\n')[0]).toBe(ws)
      expect(out.split('\n')[1]?.trim().split(' ').slice(0, 3)).toEqual(['0', '1', '2'])
    }
  })
})
