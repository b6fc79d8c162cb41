import type { AppServerHost, OpenedThread } from './app-server-host.js'

/** How long a thread started ahead waits for its run: as long as an ACP agent kept ready for one-shot runs. */
export const readyThreadKeepMs = 300_000

interface Ready {
  readonly thread: Promise<OpenedThread | null>
  readonly timer: NodeJS.Timeout
}

/**
 * Threads started ahead of time (`thread/start`) on the shared app-server, each for the next warm one-shot run
 * with the same thread parameters (cwd, model, sandbox, approval policy): such a run then sends only
 * `turn/start`. A ready thread serves one run at most, so every run starts with no history. One waits at most
 * `keepMs`, then the app-server lets go of it (`thread/unsubscribe`); at most `max` wait at a time (the oldest
 * goes first). Like `codex exec` at its start, codex reads the cwd's project docs (AGENTS.md) when the thread
 * starts, so a ready thread has them as they were when the run before it ended.
 */
export class ReadyThreads {
  private readonly ready = new Map<string, Ready>()
  private closed = false

  constructor(
    private readonly host: AppServerHost,
    private readonly keepMs = readyThreadKeepMs,
    private readonly max = 2,
  ) {}

  /** Threads started ahead so far, and runs they served. */
  started = 0
  served = 0

  /** Threads started or starting that wait for their run now. */
  get waiting(): number {
    return this.ready.size
  }

  /** The thread started for `key` (nobody else gets it), if one is there and its app-server still has it. */
  async take(key: string): Promise<OpenedThread | null> {
    const r = this.ready.get(key)
    if (!r) return null
    this.ready.delete(key)
    clearTimeout(r.timer)
    const thread = await r.thread
    if (!thread || !this.host.isLoaded(thread.threadId)) return null
    this.served++
    return thread
  }

  /** Starts a thread for the next run of `key`, unless one waits for it already. A failure is dropped. */
  prepare(key: string, start: () => Promise<OpenedThread>): void {
    if (this.closed || this.ready.has(key)) return
    this.started++
    const thread = start().catch(() => null)
    const timer = setTimeout(() => void this.drop(key), this.keepMs)
    timer.unref()
    this.ready.set(key, { thread, timer })
    for (const oldest of this.ready.keys()) {
      if (this.ready.size <= this.max) break
      void this.drop(oldest)
    }
  }

  /** Lets go of every waiting thread (the app-server is closing) and starts no more. */
  async close(): Promise<void> {
    this.closed = true
    await Promise.all([...this.ready.keys()].map((key) => this.drop(key)))
  }

  private async drop(key: string): Promise<void> {
    const r = this.ready.get(key)
    if (!r) return
    this.ready.delete(key)
    clearTimeout(r.timer)
    const thread = await r.thread
    if (!thread || !this.host.isLoaded(thread.threadId)) return
    await this.host.request('thread/unsubscribe', { threadId: thread.threadId }).catch(() => {})
    this.host.forget(thread.threadId)
  }
}
