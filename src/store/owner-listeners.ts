import type { StoredEvent } from '../protocol/events.js'

type Listener = (event: StoredEvent) => void

/**
 * The listeners of each owner (a run or a session) in one process. A subscription is an entry of its owner's set:
 * adding or removing one costs the same with ten thousand others open (an EventEmitter scans its listener array on
 * each removal: a run's subscribers leaving cost O(n²) in all).
 */
export class OwnerListeners {
  private readonly owners = new Map<string, Set<{ listener: Listener }>>()

  /** Calls `listener` with every event emitted for `ownerId` from now on; returns the unsubscribe. */
  on(ownerId: string, listener: Listener): () => void {
    let entries = this.owners.get(ownerId)
    if (!entries) {
      entries = new Set()
      this.owners.set(ownerId, entries)
    }
    const entry = { listener }
    entries.add(entry)
    return () => {
      const now = this.owners.get(ownerId)
      if (!now?.delete(entry)) return
      if (now.size === 0) this.owners.delete(ownerId)
    }
  }

  /** Calls the owner's listeners, as they were when it was called (as EventEmitter does). */
  emit(ownerId: string, event: StoredEvent): void {
    const entries = this.owners.get(ownerId)
    if (!entries) return
    for (const { listener } of entries.size === 1 ? entries : [...entries]) listener(event)
  }

  count(ownerId: string): number {
    return this.owners.get(ownerId)?.size ?? 0
  }

  /** The owners with a listener now. */
  ownerIds(): string[] {
    return [...this.owners.keys()]
  }

  clear(): void {
    this.owners.clear()
  }
}
