import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { findWireFormat, type TurnInfo } from './formats/index.js'
import { modelList } from './models.js'
import { readBody } from './read-body.js'
import { playStep, sendJson } from './respond.js'
import { ScenarioBook } from './scenario-book.js'
import { checkStep } from './step-schema.js'
import type { MockLlm, RecordedRequest, StartMockLlmOptions, Step, StepContext } from './types.js'

const pathOf = (url: string | undefined) => new URL(url ?? '/', 'http://mock-llm').pathname

const preview = (text: string) => JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text)

/** Start the fake model server on 127.0.0.1 (port 0 = any free port). */
export async function startMockLlm(opts: StartMockLlmOptions = {}): Promise<MockLlm> {
  const host = opts.host ?? '127.0.0.1'
  const log = opts.log ?? (() => {})
  const book = new ScenarioBook()
  const requests: RecordedRequest[] = []
  const sockets = new Set<Socket>()
  const closing = new AbortController()
  /** Aborted by reset(): answers still held back (held() steps) end then, not in the next test. */
  let resetting = new AbortController()
  let idCounter = 0
  const nextId = (prefix: string) => `${prefix}_${++idCounter}`

  /** The step for a request, taken now; a factory's promise (a held answer) settles, or the signal aborts. */
  async function pickStep(turn: TurnInfo, request: RecordedRequest, signal: AbortSignal): Promise<Step> {
    const source = book.pick(turn)
    const context: StepContext = { request, ...turn }
    if (typeof source !== 'function') return source
    const step = source(context)
    if (!(step instanceof Promise)) return checkStep(step)
    const ended = AbortSignal.any([signal, resetting.signal])
    const aborted = new Promise<never>((_, reject) => {
      if (ended.aborted) reject(ended.reason)
      ended.addEventListener('abort', () => reject(ended.reason), { once: true })
    })
    aborted.catch(() => {})
    return checkStep(await Promise.race([step, aborted]))
  }

  async function answerModelRequest(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const format = findWireFormat(req.method ?? '', path)
    if (!format) {
      log(`${req.method} ${req.url} -> 404`)
      sendJson(res, 404, {
        error: { message: `mock-llm: no route for ${req.method} ${path}`, type: 'not_found' },
      })
      return
    }
    const { body, json } = await readBody(req)
    const request: RecordedRequest = {
      method: req.method ?? '',
      path: req.url ?? path,
      headers: { ...req.headers },
      body,
      at: Date.now(),
    }
    requests.push(request)
    if (!json) {
      log(`${req.method} ${req.url} -> 400 (body is not JSON)`)
      sendJson(res, 400, {
        error: { message: 'mock-llm: request body must be JSON', type: 'invalid_request' },
      })
      return
    }
    const turn = format.describeTurn(request.headers, body)
    const sideStep = format.sideAnswer?.(request.headers, body)
    if (sideStep) request.side = true
    const gone = new AbortController()
    const goAway = () => gone.abort(new Error('mock-llm: client went away'))
    res.on('close', goAway)
    if (res.destroyed) goAway()
    const signal = AbortSignal.any([closing.signal, gone.signal])
    try {
      const step: Step = sideStep ?? (await pickStep(turn, request, signal))
      log(
        `${req.method} ${req.url} ${preview(turn.lastUserText)}${turn.isFollowUp ? ' (tool result)' : ''}${sideStep ? ' (side)' : ''} -> ${step.kind}`,
      )
      await playStep(res, step, format, { body, nextId }, signal)
    } catch (error) {
      if (!signal.aborted) throw error
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = pathOf(req.url)
    if (req.method === 'GET' && (path === '/v1/models' || path === '/models')) {
      log(`${req.method} ${req.url} -> models`)
      sendJson(res, 200, modelList)
      return
    }
    await answerModelRequest(req, res, path)
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error)
      log(`${req.method} ${req.url} -> 500 ${message}`)
      if (!res.headersSent) sendJson(res, 500, { error: { message, type: 'mock_llm_error' } })
      else res.destroy()
    })
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject)
      resolve()
    })
  })

  const { port } = server.address() as AddressInfo
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`

  return {
    url,
    baseUrl: `${url}/v1`,
    port,
    requests,
    script: (...steps) => book.script(steps),
    on: (match, ...steps) => book.add({ match, steps }),
    setDefault: (step) => book.setDefault(step),
    lastUserText: (req) => {
      const format = findWireFormat(req.method, pathOf(req.path))
      return format ? format.describeTurn(req.headers, req.body).lastUserText : ''
    },
    reset: () => {
      book.reset()
      requests.length = 0
      resetting.abort(new Error('mock-llm: reset while the answer was held back'))
      resetting = new AbortController()
    },
    close: () =>
      new Promise<void>((resolve) => {
        closing.abort(new Error('mock-llm: server closed'))
        server.close(() => resolve())
        for (const socket of sockets) socket.destroy()
      }),
  }
}
