import { Worker } from 'node:worker_threads'
import { describe, expect, it } from 'vitest'
import { mockOnWorker } from '../../bench/mock-thread.js'

/** A worker that says it is ready, then does `then` (plain JavaScript, evaluated). */
const worker = (then: string) =>
  new Worker(
    `const { parentPort } = require('node:worker_threads')
     parentPort.postMessage({ type: 'ready', baseUrl: 'http://127.0.0.1:9' })
     ${then}`,
    { eval: true },
  )

describe('the bench mock on a worker thread', () => {
  it('closes a mock whose worker died after it was ready', { timeout: 10_000 }, async () => {
    const died = worker(`parentPort.once('message', () => {}); setTimeout(() => process.exit(3), 10)`)
    const gone = new Promise((resolve) => died.once('exit', resolve))
    const mock = await mockOnWorker(died)
    expect(mock.baseUrl).toBe('http://127.0.0.1:9')
    await gone
    await expect(mock.close()).resolves.toBeUndefined()
  })

  it('closes a live mock once its worker says it closed', { timeout: 10_000 }, async () => {
    const live = worker(
      `parentPort.on('message', (m) => { if (m === 'close') parentPort.postMessage({ type: 'closed' }) })`,
    )
    const mock = await mockOnWorker(live)
    await mock.close()
    expect(live.threadId).toBe(-1)
  })

  it('fails the start of a worker that ends before it is ready', { timeout: 10_000 }, async () => {
    const early = new Worker('process.exit(0)', { eval: true })
    await expect(mockOnWorker(early)).rejects.toThrow(/ended before it was ready/)
  })
})
