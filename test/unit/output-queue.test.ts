import { once } from 'node:events'
import { PassThrough } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { outputQueues } from '../../src/agents/held-output.js'
import { OutputQueue } from '../../src/agents/output-queue.js'
import { runProcess } from '../../src/agents/process-run.js'
import type { ProcessOutcome, ProcessRunner, RunningProcess } from '../../src/process/runner.js'
import type { AgentEvent } from '../../src/protocol/events.js'

const output = (data: string): AgentEvent => ({ type: 'output', stream: 'stdout', data })

describe('OutputQueue', () => {
  it('pauses the streams it holds past its bound and resumes them once half of it is left; order kept', async () => {
    const queue = new OutputQueue(1000)
    const stream = new PassThrough()
    stream.on('data', () => {})
    queue.hold(stream)
    for (let i = 0; i < 4; i++) queue.push(output(`${i}`.repeat(200)))
    expect(queue.holding).toBe(false)
    expect(queue.room()).toBeUndefined()
    queue.push(output('4'.repeat(200)))
    expect(queue.holding).toBe(true)
    expect(stream.isPaused()).toBe(true)
    let roomCame = false
    const room = queue.room()!.then(() => {
      roomCame = true
    })
    const taken: string[] = []
    const it = queue[Symbol.asyncIterator]()
    // taking one or two leaves more than half the bound: still held
    for (let i = 0; i < 2; i++) taken.push(((await it.next()).value as { data: string }).data[0]!)
    expect(queue.holding).toBe(true)
    expect(stream.isPaused()).toBe(true)
    expect(roomCame).toBe(false)
    taken.push(((await it.next()).value as { data: string }).data[0]!)
    expect(queue.holding).toBe(false)
    expect(stream.isPaused()).toBe(false)
    await room
    queue.push(output('5'))
    queue.close()
    for (let next = await it.next(); !next.done; next = await it.next())
      taken.push((next.value as { data: string }).data[0]!)
    expect(taken).toEqual(['0', '1', '2', '3', '4', '5'])
    stream.destroy()
  })

  it('counts every queue in outputQueues, and release drops what is queued and lets the streams go', async () => {
    const before = { ...outputQueues }
    const queue = new OutputQueue(100)
    const stream = new PassThrough()
    stream.on('data', () => {})
    queue.hold(stream)
    queue.push(output('x'.repeat(300)))
    expect(outputQueues.bytes).toBeGreaterThan(before.bytes + 300)
    expect(outputQueues.paused).toBe(before.paused + 1)
    const room = queue.room()
    expect(room).toBeDefined()
    queue.release()
    await room
    expect(stream.isPaused()).toBe(false)
    expect(outputQueues).toEqual(before)
    // pushes after it are dropped, the iteration ends
    queue.push(output('y'))
    expect(queue.size).toBe(0)
    expect(await queue[Symbol.asyncIterator]().next()).toEqual({ value: undefined, done: true })
    stream.destroy()
  })
})

/**
 * A process whose stdout and stderr the test writes as an agent does: a write the stream does not take at once
 * (its buffer full: a pipe the gateway does not read) waits for 'drain', as the agent blocks on a full pipe.
 */
function fakeProcess() {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  const stdin = new PassThrough()
  stdin.end()
  let endProcess: (outcome: ProcessOutcome) => void = () => {}
  const exited = new Promise<ProcessOutcome>((resolve) => {
    endProcess = resolve
  })
  const closed = Promise.all([once(stdout, 'close'), once(stderr, 'close')]).catch(() => {})
  const terminated: string[] = []
  let written = 0
  const proc: RunningProcess = {
    pid: 4242,
    started: Promise.resolve(4242),
    stdin,
    stdout,
    stderr,
    done: Promise.all([exited, closed]).then(([outcome]) => outcome),
    terminate(reason) {
      terminated.push(reason)
      // the agent is killed whether it blocks on a write or not: its pipes end (what was written stays readable)
      stdout.end()
      stderr.end()
      endProcess({ exitCode: null, signal: 'SIGTERM', reason, durationMs: 1 })
    },
  }
  /** Writes `chunks` to stdout (and every tenth to stderr), each once the stream took the one before. */
  const write = async (chunks: string[]) => {
    for (const [i, chunk] of chunks.entries()) {
      if (stdout.writableEnded) return
      const to = i % 10 === 9 ? stderr : stdout
      const taken = to.write(chunk)
      written += chunk.length
      // a killed agent's write does not wait on: a stream ended by terminate gives no 'drain'
      if (!taken) await Promise.race([once(to, 'drain'), once(to, 'close')])
    }
  }
  const runner: ProcessRunner = {
    kind: 'local',
    start: () => proc,
    reclaim: async () => false,
    describe: async () => ({ kind: 'local', available: true }),
  }
  return {
    runner,
    proc,
    write,
    terminated,
    exit: () => {
      stdout.end()
      stderr.end()
      endProcess({ exitCode: 0, signal: null, reason: 'exited', durationMs: 1 })
    },
    get written() {
      return written
    },
  }
}

const spawnSpec = { command: 'agent', args: [], cwd: '/', env: {}, killGraceMs: 100 }

describe('runProcess with a consumer that does not pull', () => {
  const chunkBytes = 16 * 1024
  const chunks = Array.from({ length: 256 }, (_, i) =>
    `${String(i).padStart(5, '0')}`.padEnd(chunkBytes, '.'),
  )

  for (const mode of ['text', 'lines'] as const) {
    it(`${mode}: stops reading the process's output past the bound (the agent blocks), then gives it all, in order`, async () => {
      const fake = fakeProcess()
      const lineChunks = mode === 'lines' ? chunks.map((c) => `${JSON.stringify({ c })}\n`) : chunks
      const mapper = {
        map: (line: string): AgentEvent[] => [{ type: 'agent.raw', agent: 'fake', payload: line }],
        finalResponse: () => null,
        usage: () => null,
        failure: () => null,
      }
      const events = runProcess(
        {
          agent: 'fake',
          runner: fake.runner,
          spawn: spawnSpec,
          stdout: mode === 'lines' ? { mode: 'lines', mapper } : { mode: 'text' },
        },
        new AbortController().signal,
      )
      expect((await events.next()).value).toMatchObject({ type: 'run.started', pid: 4242 })
      // the consumer waits (its events wait for the store): the agent writes 4 MiB meanwhile
      let wrote = false
      const writing = fake.write(lineChunks).then(() => {
        wrote = true
      })
      // the agent blocks once the queue is full and the streams' buffers are: it waits for its pipe, not done
      while (outputQueues.paused === 0) await new Promise((resolve) => setImmediate(resolve))
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve))
      expect(wrote).toBe(false)
      // the bound (256 KiB) plus a read and what each stream buffers (16 KiB, 64 KiB on Node 22+), not 4 MiB
      expect(fake.written).toBeLessThanOrEqual(256 * 1024 + 4 * chunkBytes + 2 * 2 * 64 * 1024)
      // the consumer pulls again: it gets everything, each once, in order, and the agent finishes
      const got: AgentEvent[] = []
      const pulling = (async () => {
        for await (const ev of events) got.push(ev)
      })()
      await writing
      fake.exit()
      await pulling
      const text = (stream: 'stdout' | 'stderr') =>
        got.flatMap((e) =>
          e.type === 'output' && e.stream === stream
            ? [e.data]
            : e.type === 'agent.raw' && stream === 'stdout'
              ? [`${e.payload as string}\n`]
              : [],
        )
      const expectedOut = lineChunks.filter((_, i) => i % 10 !== 9).join('')
      const expectedErr = lineChunks.filter((_, i) => i % 10 === 9).join('')
      expect(text('stdout').join('') === expectedOut).toBe(true)
      expect(text('stderr').join('') === expectedErr).toBe(true)
      expect(got.at(-1)).toMatchObject({ type: 'run.completed', status: 'succeeded' })
      expect(outputQueues).toEqual({ bytes: 0, paused: 0 })
    })
  }

  it("a consumer that leaves while the output is held ends the process, and the run's end comes", async () => {
    const fake = fakeProcess()
    const events = runProcess(
      { agent: 'fake', runner: fake.runner, spawn: spawnSpec, stdout: { mode: 'text' } },
      new AbortController().signal,
    )
    await events.next()
    const writing = fake.write(chunks)
    while (outputQueues.paused === 0) await new Promise((resolve) => setImmediate(resolve))
    // the client left (or the store refused an event): the loop that took the events returns
    await events.return(undefined)
    expect(fake.terminated).toEqual(['client_gone'])
    // what the process still had written is read and dropped: its output closes, so its end comes
    await writing
    expect(await fake.proc.done).toMatchObject({ reason: 'client_gone' })
    expect(outputQueues).toEqual({ bytes: 0, paused: 0 })
  })

  it('a cancel while the output is held ends the process at once; its output up to then comes once the consumer pulls', async () => {
    const fake = fakeProcess()
    const abort = new AbortController()
    const spec = {
      agent: 'fake',
      runner: {
        ...fake.runner,
        start: (launch: { signal?: AbortSignal }) => {
          launch.signal?.addEventListener('abort', () => fake.proc.terminate('cancelled'))
          return fake.proc
        },
      } as ProcessRunner,
      spawn: spawnSpec,
      stdout: { mode: 'text' as const },
    }
    const events = runProcess(spec, abort.signal)
    await events.next()
    void fake.write(chunks)
    while (outputQueues.paused === 0) await new Promise((resolve) => setImmediate(resolve))
    abort.abort('cancelled')
    expect(fake.terminated).toEqual(['cancelled'])
    const got: AgentEvent[] = []
    for await (const ev of events) got.push(ev)
    const out = got.flatMap((e) => (e.type === 'output' && e.stream === 'stdout' ? [e.data] : [])).join('')
    expect(out.length).toBeGreaterThanOrEqual(256 * 1024)
    expect(
      chunks
        .filter((_, i) => i % 10 !== 9)
        .join('')
        .startsWith(out),
    ).toBe(true)
    expect(got.at(-1)).toMatchObject({ type: 'run.completed', status: 'cancelled' })
    expect(outputQueues).toEqual({ bytes: 0, paused: 0 })
  })
})
