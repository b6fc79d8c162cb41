import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { AgentDriver } from '../../src/agents/driver.js'
import { loadConfig } from '../../src/config/load.js'
import { ActiveRuns } from '../../src/core/active-runs.js'
import { type HeldRun, NodeRunQueue } from '../../src/core/node-run-queue.js'
import type { RunCompletedEvent } from '../../src/protocol/events.js'
import { queuedRun } from '../../src/protocol/runs.js'
import { removeDir, tempDir } from '../support/temp.js'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d)
})

/** A queue whose runs execute until the test ends them, recording what started and how queued runs ended. */
function queue(maxConcurrent: number) {
  const dir = tempDir()
  dirs.push(dir)
  const config = loadConfig(
    { MAX_CONCURRENT_RUNS: String(maxConcurrent), WORKSPACE_ROOTS: path.join(dir, 'workspace') },
    dir,
  )
  const active = new ActiveRuns()
  const started: string[] = []
  const finishOf = new Map<string, () => void>()
  const ended: { id: string; completed: RunCompletedEvent }[] = []
  const q = new NodeRunQueue({
    config,
    active,
    execute: (held) => {
      started.push(held.run.id)
      return new Promise<void>((resolve) => finishOf.set(held.run.id, resolve))
    },
    finish: async (held, completed) => {
      ended.push({ id: held.run.id, completed })
    },
  })
  const add = (id: string): HeldRun =>
    q.add(
      queuedRun(id, 'codex', { prompt: 'hi', cwd: dir }, new Date().toISOString()),
      {} as AgentDriver,
      undefined,
      false,
    )
  return { q, add, active, started, ended, finish: (id: string) => finishOf.get(id)!() }
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve))

describe('NodeRunQueue', () => {
  it('runs at most MAX_CONCURRENT_RUNS at once, the rest in order as slots free up', async () => {
    const { q, add, started, finish, active } = queue(2)
    for (const id of ['run_a', 'run_b', 'run_c']) add(id)
    expect(started).toEqual([]) // nothing starts before the request was answered
    await tick()
    expect(started).toEqual(['run_a', 'run_b'])
    expect(q.stats).toEqual({ running: 2, queued: 1 })
    expect(q.held().map((p) => p.run.id)).toEqual(['run_a', 'run_b', 'run_c'])
    finish('run_b')
    await tick()
    expect(started).toEqual(['run_a', 'run_b', 'run_c'])
    expect(q.find('run_b')).toBeUndefined()
    expect(q.finishing('run_b')).toBeUndefined()
    finish('run_a')
    finish('run_c')
    await q.idle()
    expect(q.stats).toEqual({ running: 0, queued: 0 })
    expect(active.size).toBe(0)
  })

  it('a queued run that is cancelled never starts and is recorded as cancelled at once', async () => {
    const { q, add, started, ended, finish } = queue(1)
    add('run_a')
    const b = add('run_b')
    await tick()
    b.controller.abort('cancelled')
    await q.finishing('run_b')
    expect(ended).toEqual([
      { id: 'run_b', completed: expect.objectContaining({ status: 'cancelled', reason: 'cancelled' }) },
    ])
    finish('run_a')
    await q.idle()
    expect(started).toEqual(['run_a'])
  })

  it('a shutdown records the queued runs as interrupted; the running one goes on', async () => {
    const { q, add, started, ended, finish } = queue(1)
    add('run_a')
    add('run_b')
    add('run_c')
    await tick()
    q.abortQueued('shutdown')
    await tick()
    expect(ended.map((e) => [e.id, e.completed.status, e.completed.reason])).toEqual([
      ['run_b', 'interrupted', 'shutdown'],
      ['run_c', 'interrupted', 'shutdown'],
    ])
    expect(q.find('run_a')).toBeDefined()
    finish('run_a')
    await q.idle()
    expect(started).toEqual(['run_a'])
  })
})
