import type { ServerResponse } from 'node:http'
import type { RenderContext, WireFormat } from './formats/index.js'
import { sleep } from './sleep.js'
import { writeSseEvent, writeSseHead } from './sse.js'
import type { Step } from './types.js'

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}

/** Play one step on `res` in the given wire format. Rejects when `signal` aborts (client gone, server closing). */
export async function playStep(
  res: ServerResponse,
  step: Step,
  format: WireFormat,
  ctx: RenderContext,
  signal: AbortSignal,
): Promise<void> {
  await sleep(step.delayMs, signal)
  if (step.kind === 'http_error') {
    const body = step.body ?? format.errorBody(step.status)
    const type = isJson(body) ? 'application/json' : 'text/plain; charset=utf-8'
    res.writeHead(step.status, { 'content-type': type, 'content-length': Buffer.byteLength(body) })
    res.end(body)
    return
  }
  const events = step.kind === 'drop' ? format.renderDropPrelude(ctx) : format.render(step, ctx)
  writeSseHead(res)
  for (const [index, event] of events.entries()) {
    if (index > 0) await sleep(step.chunkDelayMs, signal)
    await writeSseEvent(res, event, signal)
  }
  if (step.kind === 'drop') {
    await sleep(step.chunkDelayMs, signal)
    res.socket?.destroy()
    return
  }
  res.end()
}
