import WebSocket from 'ws'
import type { Frame } from './agent-stream-client.js'

/** An /agent/ws connection with a bearer token: the frames it received, and a wait for the first that matches. */
export function wsClient(url: string, token: string) {
  const ws = new WebSocket(url, ['agent-stream'], { headers: { authorization: `Bearer ${token}` } })
  const frames: Frame[] = []
  const waiters: (() => void)[] = []
  let closed = false
  ws.on('message', (data) => {
    frames.push(JSON.parse(data.toString()) as Frame)
    for (const w of waiters.splice(0)) w()
  })
  ws.on('close', () => {
    closed = true
    for (const w of waiters.splice(0)) w()
  })
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  const next = async (match: (f: Frame) => boolean): Promise<Frame> => {
    for (;;) {
      const found = frames.find(match)
      if (found) return found
      if (closed) throw new Error(`closed without the frame; got ${JSON.stringify(frames)}`)
      await new Promise<void>((resolve) => waiters.push(resolve))
    }
  }
  return { ws, frames, opened, next, send: (f: unknown) => ws.send(JSON.stringify(f)) }
}
