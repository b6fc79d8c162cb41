import { describe, expect, it } from 'vitest'
import { isProcessAlive } from '../../src/process/alive.js'
import { deferredChild } from '../../src/process/deferred-child.js'
import { spawnNow } from '../../src/process/paced-spawn.js'

const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' }

describe('a deferred child', () => {
  it('does not block its child when the reader destroys stdout early: the child is not left writing into a full pipe', async () => {
    // 64 MB of output: far more than a pipe holds, so a child nobody reads stays blocked in write()
    const child = deferredChild(
      Promise.resolve(
        spawnNow({
          command: 'sh',
          args: ['-c', 'head -c 67108864 /dev/zero'],
          cwd: process.cwd(),
          env,
        }),
      ),
    )
    const pid = await child.started
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()))
    child.stdout.destroy()
    const exit = await Promise.race([
      child.closed,
      new Promise<'blocked'>((resolve) => setTimeout(() => resolve('blocked'), 15_000).unref()),
    ])
    if (exit === 'blocked' && pid) process.kill(-pid, 'SIGKILL')
    expect(exit).not.toBe('blocked')
    expect(pid).toBeGreaterThan(0)
    expect(isProcessAlive(pid!)).toBe(false)
  })
})
