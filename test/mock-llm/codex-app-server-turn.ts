import { createInterface } from 'node:readline'
import type { CodexSandbox } from './codex-sandbox.js'
import { killGroup } from './codex-sandbox.js'

// Minimal `codex app-server` JSON-RPC client: one thread, one turn, every notification collected.
// `codex exec --json` only reports finished items; the app-server also streams deltas.

export interface AppServerNotification {
  method: string
  params: Record<string, unknown>
}

export async function runAppServerTurn(
  sandbox: CodexSandbox,
  prompt: string,
  timeoutMs = 20_000,
): Promise<AppServerNotification[]> {
  const child = sandbox.spawn(['app-server'], 'pipe')
  const notifications: AppServerNotification[] = []
  const pending = new Map<number, (result: Record<string, unknown>) => void>()
  let nextId = 0
  let turnDone: () => void = () => {}
  const turnCompleted = new Promise<void>((resolve) => {
    turnDone = resolve
  })

  const lines = createInterface({ input: child.stdout! })
  lines.on('line', (line) => {
    let message: Record<string, unknown>
    try {
      message = JSON.parse(line) as Record<string, unknown>
    } catch {
      return
    }
    if (typeof message.id === 'number' && 'result' in message) {
      pending.get(message.id)?.(message.result as Record<string, unknown>)
    } else if (typeof message.method === 'string') {
      notifications.push({
        method: message.method,
        params: (message.params ?? {}) as Record<string, unknown>,
      })
      if (message.method === 'turn/completed') turnDone()
    }
  })

  const send = (message: Record<string, unknown>) => child.stdin!.write(`${JSON.stringify(message)}\n`)
  const request = (method: string, params: Record<string, unknown>) =>
    new Promise<Record<string, unknown>>((resolve) => {
      const id = ++nextId
      pending.set(id, resolve)
      send({ jsonrpc: '2.0', id, method, params })
    })

  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`app-server turn timed out after ${timeoutMs} ms`)), timeoutMs)
  })
  try {
    await Promise.race([
      (async () => {
        await request('initialize', { clientInfo: { name: 'mock-llm-test', version: '0.0.0' } })
        send({ jsonrpc: '2.0', method: 'initialized' })
        const started = await request('thread/start', { cwd: sandbox.workdir })
        const thread = started.thread as { id: string }
        await request('turn/start', { threadId: thread.id, input: [{ type: 'text', text: prompt }] })
        await turnCompleted
      })(),
      timeout,
    ])
    return notifications
  } finally {
    clearTimeout(timer)
    lines.close()
    child.stdin?.end()
    killGroup(child.pid)
  }
}
