import type { Readable } from 'node:stream'
import type { HeldOutput } from '../held-output.js'

/**
 * The agent's stdout as the web stream the ACP SDK reads (ndJsonStream), read only when the SDK asks for a chunk
 * and `held` has room. The SDK reads its input as fast as it comes and dispatches each message without waiting
 * for its handler, so a stream that always has data (Readable.toWeb) lets what the agent writes pile up in the
 * turns' queues while their events wait for the store. Here, past the bound, no chunk is read: the process's pipe
 * fills and the agent blocks on its write, until the turns' readers took enough. A chunk (at most one pipe read)
 * is the most read past the bound.
 */
export function heldStdout(stdout: Readable, held: HeldOutput): ReadableStream<Uint8Array> {
  const chunks = stdout[Symbol.asyncIterator]()
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (held.holding) await held.room()
        let next: IteratorResult<Buffer>
        try {
          next = (await chunks.next()) as IteratorResult<Buffer>
        } catch (err) {
          // a stream destroyed before its end (its process ended) ends the input as its end would
          if ((err as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE')
            next = { done: true, value: undefined }
          else throw err
        }
        if (next.done) controller.close()
        else
          controller.enqueue(new Uint8Array(next.value.buffer, next.value.byteOffset, next.value.byteLength))
      },
      async cancel() {
        await chunks.return?.()
      },
    },
    // nothing read ahead of the SDK's own read
    { highWaterMark: 0 },
  )
}
