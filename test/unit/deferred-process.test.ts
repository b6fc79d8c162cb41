import { describe, expect, it } from 'vitest'
import { collectOutput } from '../../src/process/collect-output.js'
import { deferredProcess } from '../../src/process/deferred-process.js'
import { localRunner } from '../../src/process/local-runner.js'
import type { LaunchSpec, ProcessRunner } from '../../src/process/runner.js'
import { tempDir } from '../support/temp.js'

/** A launch that waits for something first (the key proxy's thread): stdio at once, the process once it may start. */
const dir = tempDir('deferred-process-')
const spec = (over: Partial<LaunchSpec> = {}): LaunchSpec => ({
  command: '/bin/sh',
  args: ['-c', 'cat; printf done >&2'],
  cwd: dir,
  env: { PATH: process.env.PATH },
  stdin: { keepOpen: true },
  killGraceMs: 500,
  ...over,
})

/** A runner whose launches wait for `ready`, and which counts the starts it let through. */
function waitingRunner(ready: Promise<unknown>): ProcessRunner & { starts: number } {
  const runner = {
    ...localRunner,
    kind: localRunner.kind,
    starts: 0,
    start: (s: LaunchSpec) =>
      deferredProcess(s, ready, () => {
        runner.starts++
        return localRunner.start(s)
      }),
    reclaim: () => localRunner.reclaim(),
    describe: () => localRunner.describe(),
  }
  return runner
}

describe('deferredProcess', () => {
  it('feeds stdin written before the start and hands over stdout and stderr once it ran', async () => {
    let go: () => void = () => {}
    const runner = waitingRunner(new Promise<void>((resolve) => (go = resolve)))
    const proc = runner.start(spec())
    proc.stdin.end('early input')
    expect(proc.pid).toBeUndefined()
    let stderr = ''
    proc.stderr.on('data', (c) => {
      stderr += c
    })
    const out: Buffer[] = []
    proc.stdout.on('data', (c: Buffer) => out.push(c))
    go()
    const pid = await proc.started
    expect(pid).toBeGreaterThan(0)
    const outcome = await proc.done
    expect(outcome).toMatchObject({ exitCode: 0, reason: 'exited' })
    expect(Buffer.concat(out).toString()).toBe('early input')
    expect(stderr).toBe('done')
  })

  it('never starts a launch ended (or aborted) while it waits; its outcome says why', async () => {
    let go: () => void = () => {}
    const runner = waitingRunner(new Promise<void>((resolve) => (go = resolve)))
    const ended = runner.start(spec())
    ended.terminate('cancelled')
    const abort = new AbortController()
    const aborted = runner.start(spec({ signal: abort.signal }))
    abort.abort('client_gone')
    go()
    expect(await ended.done).toMatchObject({ exitCode: null, reason: 'cancelled' })
    expect(await aborted.done).toMatchObject({ exitCode: null, reason: 'client_gone' })
    expect(await ended.started).toBeUndefined()
    expect(runner.starts).toBe(0)
  })

  it('is a spawn_failed with the reason when what it waits for fails', async () => {
    const runner = waitingRunner(Promise.reject(new Error('the key proxy could not start: boom')))
    const { outcome, text } = await collectOutput(runner, spec({ stdin: null }))
    expect(outcome).toMatchObject({ reason: 'spawn_failed', error: 'the key proxy could not start: boom' })
    expect(text).toBe('')
    expect(runner.starts).toBe(0)
  })
})
