import { EventEmitter } from 'node:events'
import type { StoredEvent } from '../protocol/events.js'

/**
 * Live fan-out of stored events to subscribers of an owner (a run or a session). Events are published only
 * after they are stored, so a subscriber that misses one can always read it back from the store.
 */
export interface EventBus {
  publish(ownerId: string, event: StoredEvent): void
  /** Calls `listener` with every event published for `ownerId` from now on; returns the unsubscribe. */
  subscribe(ownerId: string, listener: (event: StoredEvent) => void): () => void
  close(): Promise<void>
}

/** The bus of one process: publishers and subscribers share the gateway process. */
export class InProcessEventBus implements EventBus {
  private readonly emitter = new EventEmitter()

  constructor() {
    this.emitter.setMaxListeners(0)
  }

  publish(ownerId: string, event: StoredEvent): void {
    this.emitter.emit(ownerId, event)
  }

  subscribe(ownerId: string, listener: (event: StoredEvent) => void): () => void {
    this.emitter.on(ownerId, listener)
    return () => this.emitter.off(ownerId, listener)
  }

  async close(): Promise<void> {
    this.emitter.removeAllListeners()
  }
}
