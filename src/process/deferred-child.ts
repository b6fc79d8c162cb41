import { PassThrough, pipeline } from 'node:stream'
import { finished } from 'node:stream/promises'
import type { ChildHandle } from './child-handle.js'

/**
 * A child whose spawn completes later (its turn, or another thread): the caller gets stdio streams at once,
 * pass-throughs wired to the child's own once `later` resolves. Writes to stdin before then wait in the
 * pass-through; `closed` comes once the child's output was read to the end, as a child's 'close' does.
 */
export function deferredChild(later: Promise<ChildHandle>): ChildHandle {
  const stdin = new PassThrough()
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  const wired = later.then((child) => {
    child.stdin.on('error', () => {})
    stdin.pipe(child.stdin)
    // pipeline, not pipe: a reader that destroys its stream early also closes the child's end, as destroying a
    // spawned child's own stdout does, rather than leaving the child blocked on a full, unread pipe
    pipeline(child.stdout, stdout, () => {})
    pipeline(child.stderr, stderr, () => {})
    return child
  })
  return {
    stdin,
    stdout,
    stderr,
    started: wired.then((child) => child.started),
    exited: wired.then((child) => child.exited),
    closed: wired.then(async (child) => {
      const read = Promise.all([drained(stdout, child.exited), drained(stderr, child.exited)])
      const exit = await child.closed
      await read
      return exit
    }),
  }
}

/**
 * Resolves once `stream` ended. Like Node does for a child's own stdio, a stream nobody reads is flowed once the
 * child exited, so an unread stdout does not keep `closed` pending.
 */
export function drained(stream: PassThrough, exited: Promise<unknown>): Promise<void> {
  void exited.then(() => {
    if (stream.readableFlowing === null) stream.resume()
  })
  return finished(stream, { writable: false }).catch(() => {})
}
