import type { StoredEvent } from '../protocol/events.js'
import { OwnerListeners } from './owner-listeners.js'

/** A stored event and its owner (a run or a session), as the bus publishes it. */
export interface OwnedEvent {
  ownerId: string
  event: StoredEvent
}

/**
 * Live fan-out of stored events to subscribers of an owner (a run or a session). Events are published only
 * after they are stored, so a subscriber that misses one can always read it back from the store.
 */
export interface EventBus {
  /** The events one commit stored, in order (a bus across processes announces them together). */
  publish(events: readonly OwnedEvent[]): void
  /** Calls `listener` with every event published for `ownerId` from now on; returns the unsubscribe. */
  subscribe(ownerId: string, listener: (event: StoredEvent) => void): () => void
  close(): Promise<void>
}

/** The bus of one process: publishers and subscribers share the gateway process. */
export class InProcessEventBus implements EventBus {
  private readonly listeners = new OwnerListeners()

  publish(events: readonly OwnedEvent[]): void {
    for (const { ownerId, event } of events) this.listeners.emit(ownerId, event)
  }

  subscribe(ownerId: string, listener: (event: StoredEvent) => void): () => void {
    return this.listeners.on(ownerId, listener)
  }

  async close(): Promise<void> {
    this.listeners.clear()
  }
}
