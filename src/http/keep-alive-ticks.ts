/**
 * One timer for every open stream's keep-alive comments at an interval, not one per stream: a beat calls each stream
 * registered then. A stream's first comment comes at the next beat (within one interval of its start, as before),
 * then one each interval. The timer is unref'd, and stopped once no stream is left.
 */
export class KeepAliveTicks {
  private readonly beats = new Map<number, { timer: NodeJS.Timeout; streams: Set<{ send: () => void }> }>()

  /** Calls `send` every `intervalMs` until the returned function is called. */
  add(intervalMs: number, send: () => void): () => void {
    let beat = this.beats.get(intervalMs)
    if (!beat) {
      const streams = new Set<{ send: () => void }>()
      const timer = setInterval(() => {
        for (const stream of [...streams]) stream.send()
      }, intervalMs)
      timer.unref()
      beat = { timer, streams }
      this.beats.set(intervalMs, beat)
    }
    const entry = { send }
    const { streams } = beat
    streams.add(entry)
    return () => {
      if (!streams.delete(entry) || streams.size > 0) return
      const now = this.beats.get(intervalMs)
      if (now?.streams !== streams) return
      clearInterval(now.timer)
      this.beats.delete(intervalMs)
    }
  }

  /** The timers running now (one per interval in use). */
  get timers(): number {
    return this.beats.size
  }
}

/** The process's keep-alive beats, shared by every SSE stream. */
export const keepAliveTicks = new KeepAliveTicks()
