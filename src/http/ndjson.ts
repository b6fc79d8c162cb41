import type { FastifyReply } from 'fastify'
import { StreamWriter } from './stream-writer.js'

/** Streams NDJSON: one JSON object per line, flushed as it is written. */
export class NdjsonWriter extends StreamWriter {
  constructor(reply: FastifyReply, onClientGone: () => void, headers: Record<string, string> = {}) {
    super(reply, 'application/x-ndjson; charset=utf-8', onClientGone, headers)
  }

  write(frame: unknown): Promise<void> {
    return this.send(`${JSON.stringify(frame)}\n`)
  }

  /** Sends a line already encoded (JSON text ending in a newline, as text or UTF-8 bytes). */
  writeLine(line: string | Uint8Array): Promise<void> {
    return this.send(line)
  }
}
