import type { Socket } from 'node:net'

/**
 * HTTP/1.1 connections whose request times itself: a long-lived `/agent/stream` body, bounded per frame
 * (compat/agent-stream-frame-clock.ts) and legitimately open for hours. Node's `requestTimeout` (300 s for a
 * whole request, body included) would cut it, mid-response, with a raw 408; the connection guard lets those pass.
 */
const selfTimed = new WeakSet<Socket>()

/** Marks the connection while its request runs; the returned function unmarks it (its next request is Node's). */
export function timesItself(socket: Socket): () => void {
  selfTimed.add(socket)
  return () => selfTimed.delete(socket)
}

export const isSelfTimed = (socket: Socket): boolean => selfTimed.has(socket)
