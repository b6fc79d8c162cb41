import type { WarmPoolCounts } from '../driver.js'
import { ReadyPool } from '../ready-pool.js'
import type { AppServerHost, OpenedThread } from './app-server-host.js'

/** How long a thread started ahead waits for its run: as long as an ACP agent kept ready for one-shot runs. */
export const readyThreadKeepMs = 300_000
const letGoTimeoutMs = 2000
/**
 * The second thread for a set of parameters starts this long after the first (when none waited): a run sent
 * right after the one that ended (a script's next run) takes the waiting one without sharing the two cores with
 * another `thread/start`; a warm run takes about 80-100 ms here.
 */
const secondThreadAfterMs = 200

/**
 * Threads started ahead of time (`thread/start`) on the shared app-server, each for the next warm one-shot run
 * with the same thread parameters (cwd, model, sandbox, approval policy): such a run then sends only
 * `turn/start`. A ready thread serves one run at most, so every run starts with no history. Two wait for the
 * same parameters, so a run sent right after another (a script's runs one after the other) finds one that
 * started while the run before it worked, not one still starting. One waits at most `keepMs`, then the
 * app-server lets go of it (`thread/unsubscribe`); at most `max` wait at a time (the oldest goes first). Like `codex exec` at its start, codex reads the cwd's project docs (AGENTS.md) when the thread
 * starts, so a ready thread has them as they were when the run before it ended.
 */
export class ReadyThreads implements WarmPoolCounts {
  private readonly pool: ReadyPool<OpenedThread>

  constructor(
    private readonly host: AppServerHost,
    keepMs = readyThreadKeepMs,
    max = 4,
  ) {
    this.pool = new ReadyPool<OpenedThread>(
      keepMs,
      (thread) => this.letGo(thread),
      max,
      2,
      secondThreadAfterMs,
    )
  }

  /** Threads started ahead so far. */
  get started(): number {
    return this.pool.started
  }

  /** Runs a ready thread served so far. */
  get served(): number {
    return this.pool.served
  }

  /** Threads started or starting that wait for their run now. */
  get waiting(): number {
    return this.pool.waiting
  }

  /** The thread started for `key` (nobody else gets it), if one is there and its app-server still has it. */
  take(key: string): Promise<OpenedThread | null> {
    return this.pool.take(key, (thread) => this.host.isLoaded(thread.threadId))
  }

  /**
   * Starts threads for the next runs of `key` until two wait for it: one at once if none waits, the other a
   * moment later. A failure is dropped.
   */
  prepare(key: string, start: () => Promise<OpenedThread>): void {
    this.pool.prepare(key, start)
  }

  /**
   * Starts no more and forgets the waiting threads: the app-server is closing, and they end with it (a
   * `thread/unsubscribe` would only wait for a process about to be ended).
   */
  close(): Promise<void> {
    return this.pool.close(false)
  }

  private letGo(thread: OpenedThread): Promise<void> {
    // bounded like a session's close: shutdown waits for it
    return this.host.letGo(thread.threadId, letGoTimeoutMs)
  }
}
