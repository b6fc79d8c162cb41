import type { SandboxMode } from '../../protocol/policies.js'
import type { AcpSession } from './acp-session.js'

/** What a ready session is for, as far as a reader cares (the key fixes more: model, approval policy). */
export interface ReadyFor {
  cwd: string
  sandbox: SandboxMode
}

interface Ready {
  readonly session: Promise<AcpSession | null>
  readonly timer: NodeJS.Timeout
}

/**
 * Sessions opened ahead of time (`session/new`) on warm agent processes, each for the next one-shot run
 * started the same way (the same process launch, so the same model, sandbox and approval policy, and the
 * same cwd): such a run then sends only `session/prompt`. A ready session serves one run at most, so every
 * run starts with no history. One waits at most `keepMs` (the warm process's keep-alive), then it is
 * closed, and its process ends with it unless a session still holds it; at most `max` wait at a time (the
 * oldest is closed first).
 */
export class ReadySessions {
  private readonly ready = new Map<string, Ready>()
  private closed = false

  constructor(
    private readonly keepMs: number,
    private readonly max = 2,
  ) {}

  /** The sessions that wait now, by agent session id, with what they are for (one still opening is not listed). */
  readonly opened = new Map<string, ReadyFor>()

  /** Takes the session made for `key` (nobody else gets it), when one is there or on its way. */
  async take(key: string): Promise<AcpSession | null> {
    const r = this.ready.get(key)
    if (!r) return null
    this.ready.delete(key)
    clearTimeout(r.timer)
    const session = await r.session
    if (session) this.opened.delete(session.agentSessionId)
    return session
  }

  /** Opens a session for the next run of `key`, unless one waits for it already. A failure is dropped. */
  prepare(key: string, readyFor: ReadyFor, open: () => Promise<AcpSession>): void {
    if (this.closed || this.ready.has(key)) return
    const session = open().then(
      (s) => {
        if (this.ready.get(key)?.session === session) this.opened.set(s.agentSessionId, readyFor)
        return s
      },
      () => null,
    )
    const timer = setTimeout(() => this.drop(key), this.keepMs)
    timer.unref()
    this.ready.set(key, { session, timer })
    for (const oldest of this.ready.keys()) {
      if (this.ready.size <= this.max) break
      this.drop(oldest)
    }
  }

  /** Closes every waiting session (shutdown) and makes no more. */
  async close(): Promise<void> {
    this.closed = true
    await Promise.all([...this.ready.keys()].map((key) => this.drop(key)))
  }

  private async drop(key: string): Promise<void> {
    const r = this.ready.get(key)
    if (!r) return
    this.ready.delete(key)
    clearTimeout(r.timer)
    const session = await r.session
    if (!session) return
    this.opened.delete(session.agentSessionId)
    // unused until its keep-alive ended: the warm process need not wait another keep-alive after it
    await session.close(true)
  }
}
