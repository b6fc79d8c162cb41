/** The mock model server on a worker thread (bench/mock-thread.ts): reports each request, closes when told. */
import { parentPort, workerData } from 'node:worker_threads'
import { startMockLlm } from '../test/mock-llm/index.js'
import type { RecordedRequest } from '../test/mock-llm/types.js'
import { seen } from './mock-thread.js'

const port = parentPort!
const mock = await startMockLlm()
mock.setDefault({ kind: 'text', text: (workerData as { answer: string }).answer })
// The mock records a request before it answers it: report it then, and keep no body here.
const record = mock.requests.push.bind(mock.requests)
mock.requests.push = (...requests: RecordedRequest[]) => {
  for (const request of requests) port.postMessage({ type: 'request', request: seen(request) })
  mock.requests.length = 0
  return record()
}
port.on('message', async (m: unknown) => {
  if (m !== 'close') return
  await mock.close()
  port.postMessage({ type: 'closed' })
})
port.postMessage({ type: 'ready', baseUrl: mock.baseUrl })
