/**
 * The mock model server for a bench that runs a gateway in its own process: on a thread of its own (default) or,
 * with `inline`, on the bench's event loop. A real model provider is not in the gateway's process; inline, every
 * millisecond the gateway works also delays the mock's answer, which a direct client of the agent never pays.
 * What the bench reads of the requests is the same either way: path, model and body size.
 */
import { Worker } from 'node:worker_threads'
import { startMockLlm } from '../test/mock-llm/index.js'
import type { RecordedRequest } from '../test/mock-llm/types.js'

export interface SeenRequest {
  path: string
  model: string | null
  bodyBytes: number
}

export interface BenchMock {
  baseUrl: string
  /** Requests seen so far (side requests included). */
  readonly count: number
  /** The requests after the first `from`. */
  since(from: number): SeenRequest[]
  /** Forgets the requests seen (their bodies hold whole histories). */
  clear(): void
  close(): Promise<void>
}

export type MockPlacement = 'thread' | 'inline'

/** A mock whose every model request is answered with `answer` as text. */
export async function startBenchMock(answer: string, where: MockPlacement): Promise<BenchMock> {
  return where === 'thread' ? startOnThread(answer) : startInline(answer)
}

export function seen(r: RecordedRequest): SeenRequest {
  const model = (r.body as { model?: unknown } | null)?.model
  return {
    path: r.path,
    model: typeof model === 'string' ? model : null,
    bodyBytes: JSON.stringify(r.body).length,
  }
}

async function startInline(answer: string): Promise<BenchMock> {
  const mock = await startMockLlm()
  mock.setDefault({ kind: 'text', text: answer })
  return {
    baseUrl: mock.baseUrl,
    get count() {
      return mock.requests.length
    },
    since: (from) => mock.requests.slice(from).map(seen),
    clear: () => {
      mock.requests.length = 0
    },
    close: () => mock.close(),
  }
}

type FromWorker =
  | { type: 'ready'; baseUrl: string }
  | { type: 'request'; request: SeenRequest }
  | { type: 'closed' }

async function startOnThread(answer: string): Promise<BenchMock> {
  // tsx's loader is registered in the worker first, so it can import the TypeScript mock
  const bootstrap = `(async () => {
    const { register } = await import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})
    register()
    await import(${JSON.stringify(new URL('./mock-thread-worker.ts', import.meta.url).href)})
  })()`
  return mockOnWorker(new Worker(bootstrap, { eval: true, workerData: { answer } }))
}

/**
 * The mock of a worker that reports `ready`, each request, and `closed` once told to `close`. A worker that
 * ends before it is ready fails the start; one that ends later is closed already (`close()` does not wait for it).
 */
export async function mockOnWorker(worker: Worker): Promise<BenchMock> {
  let requests: SeenRequest[] = []
  let closed: (() => void) | undefined
  let exited = false
  const exit = new Promise<void>((resolve) =>
    worker.once('exit', () => {
      exited = true
      resolve()
    }),
  )
  const baseUrl = await new Promise<string>((resolve, reject) => {
    worker.once('error', reject)
    void exit.then(() => reject(new Error("the mock's worker ended before it was ready")))
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'ready') resolve(m.baseUrl)
      else if (m.type === 'request') requests.push(m.request)
      else closed?.()
    })
  })
  // a worker that fails later is ended by close()
  worker.on('error', () => {})
  return {
    baseUrl,
    get count() {
      return requests.length
    },
    since: (from) => requests.slice(from),
    clear: () => {
      requests = []
    },
    close: async () => {
      if (!exited) {
        const done = new Promise<void>((resolve) => {
          closed = resolve
        })
        worker.postMessage('close')
        await Promise.race([done, exit])
      }
      await worker.terminate()
    },
  }
}
