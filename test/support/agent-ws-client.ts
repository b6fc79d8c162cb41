import net from 'node:net'
import WebSocket from 'ws'
import type { Frame } from './agent-stream-client.js'

/**
 * A WebSocket client of /agent/ws that collects frames and waits for the first that matches. `opened`
 * rejects with `HTTP <status>` when the server refuses the upgrade. `reads` holds what each read of its TCP
 * socket got, as it came (server messages are neither masked nor compressed: their text is in it).
 */
export function agentWsClient(
  url: string,
  protocols: string[] = ['agent-stream'],
  headers: Record<string, string> = {},
) {
  const reads: Buffer[] = []
  let socket!: net.Socket
  const ws = new WebSocket(url, protocols, {
    headers,
    createConnection: (options: object) => {
      socket = net.connect(options as net.NetConnectOpts)
      socket.on('data', (chunk: Buffer) => reads.push(chunk))
      return socket
    },
  })
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
    ws.once('unexpected-response', (req, res) => {
      req.destroy()
      reject(new Error(`HTTP ${res.statusCode}`))
    })
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
  return {
    ws,
    frames,
    reads,
    opened,
    next,
    send: (f: unknown) => ws.send(JSON.stringify(f)),
    /** Its TCP socket (cork it to send several messages in one write). */
    socket: () => socket,
  }
}

/** An /agent/ws connection with a bearer token. */
export function wsClient(url: string, token: string) {
  return agentWsClient(url, ['agent-stream'], { authorization: `Bearer ${token}` })
}
