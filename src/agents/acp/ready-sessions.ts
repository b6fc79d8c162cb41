import type { SandboxMode } from '../../protocol/policies.js'
import type { WarmPoolCounts } from '../driver.js'
import { ReadyPool } from '../ready-pool.js'
import type { AcpSession } from './acp-session.js'

/** What a ready session is for, as far as a reader cares (the key fixes more: model, approval policy). */
export interface ReadyFor {
  cwd: string
  sandbox: SandboxMode
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
  /** The sessions that wait now, by agent session id, with what they are for (one still opening is not listed). */
  readonly opened = new Map<string, ReadyFor>()
  private readonly pool: ReadyPool<AcpSession>

  constructor(keepMs: number, max = 2) {
    this.pool = new ReadyPool<AcpSession>(
      keepMs,
      (session) => {
        this.opened.delete(session.agentSessionId)
        // unused until its keep-alive ended: the warm process need not wait another keep-alive after it
        return session.close(true)
      },
      max,
    )
  }

  /**
   * Takes the session made for `key` (nobody else gets it), when one is there or on its way and still usable
   * (one whose process ended meanwhile is closed and passed over).
   */
  async take(key: string): Promise<AcpSession | null> {
    const session = await this.pool.take(key, (s) => s.usable)
    if (session) this.opened.delete(session.agentSessionId)
    return session
  }

  /** Opens a session for the next run of `key`, unless one waits for it already. A failure is dropped. */
  prepare(key: string, readyFor: ReadyFor, open: () => Promise<AcpSession>): void {
    this.pool.prepare(key, open, (session) => this.opened.set(session.agentSessionId, readyFor))
  }

  /** Sessions opened ahead so far, runs they served, and those waiting now. */
  get counts(): WarmPoolCounts {
    return this.pool
  }

  /** Closes every waiting session (shutdown) and makes no more. */
  close(): Promise<void> {
    return this.pool.close()
  }
}
