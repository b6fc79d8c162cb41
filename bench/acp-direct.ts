/**
 * A minimal ACP client for benchmarks: the agent spawned directly (argv, env and cwd as given), newline-
 * delimited JSON-RPC over its stdio, no gateway code. Requests the agent sends are answered with an error
 * (a text-only prompt needs none); `session/update` notifications are collected per session.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { BenchError } from './options.js'

interface Launch {
  command: string
  args: string[]
  env: Record<string, string>
  cwd: string
}

interface Message {
  id?: number | string
  method?: string
  params?: { sessionId?: string; update?: { sessionUpdate?: string; content?: { text?: string } } }
  result?: unknown
  error?: { message?: string }
}

export class DirectAcpAgent {
  private readonly child: ChildProcessWithoutNullStreams
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  private readonly texts = new Map<string, string>()
  private nextId = 0
  private buffer = ''
  readonly exited: Promise<void>

  constructor(launch: Launch) {
    this.child = spawn(launch.command, launch.args, {
      cwd: launch.cwd,
      env: launch.env,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    this.child.stderr.resume()
    this.child.stdout.on('data', (d: Buffer) => this.read(d.toString()))
    this.exited = new Promise((resolve) => this.child.once('close', () => resolve()))
    void this.exited.then(() => {
      for (const p of this.pending.values()) p.reject(new BenchError('the ACP agent exited'))
    })
  }

  request(method: string, params: unknown): Promise<unknown> {
    const id = ++this.nextId
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      this.child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`)
    })
  }

  initialize(): Promise<unknown> {
    return this.request('initialize', {
      protocolVersion: 1,
      clientCapabilities: { fs: { readTextFile: false, writeTextFile: false }, terminal: false },
      clientInfo: { name: 'bench', version: '0' },
    })
  }

  /** session/new in `cwd`, one session/prompt, and the agent's message text of that turn. */
  async oneTurn(cwd: string, prompt: string): Promise<{ sessionId: string; text: string }> {
    const { sessionId } = (await this.request('session/new', { cwd, mcpServers: [] })) as {
      sessionId: string
    }
    this.texts.set(sessionId, '')
    await this.request('session/prompt', { sessionId, prompt: [{ type: 'text', text: prompt }] })
    const text = this.texts.get(sessionId) ?? ''
    this.texts.delete(sessionId)
    return { sessionId, text }
  }

  /** Ends the agent's process group and waits for it. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null && this.child.pid)
      try {
        process.kill(-this.child.pid, 'SIGKILL')
      } catch {}
    await this.exited
  }

  private read(chunk: string): void {
    this.buffer += chunk
    for (let i = this.buffer.indexOf('\n'); i >= 0; i = this.buffer.indexOf('\n')) {
      const line = this.buffer.slice(0, i)
      this.buffer = this.buffer.slice(i + 1)
      if (line.trim()) this.handle(JSON.parse(line) as Message)
    }
  }

  private handle(msg: Message): void {
    if (msg.method && msg.id !== undefined) {
      this.child.stdin.write(
        `${JSON.stringify({ jsonrpc: '2.0', id: msg.id, error: { code: -32601, message: 'not supported' } })}\n`,
      )
      return
    }
    if (msg.method === 'session/update') {
      const { sessionId, update } = msg.params ?? {}
      if (sessionId && update?.sessionUpdate === 'agent_message_chunk' && this.texts.has(sessionId))
        this.texts.set(sessionId, (this.texts.get(sessionId) ?? '') + (update.content?.text ?? ''))
      return
    }
    if (typeof msg.id !== 'number') return
    const p = this.pending.get(msg.id)
    this.pending.delete(msg.id)
    if (msg.error) p?.reject(new BenchError(`ACP error: ${msg.error.message}`))
    else p?.resolve(msg.result)
  }
}
