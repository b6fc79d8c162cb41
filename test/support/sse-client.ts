import { StringDecoder } from 'node:string_decoder'

/** A parsed Server-Sent Event as a client sees it. */
export interface SseFrame {
  id?: string
  event?: string
  data: string
}

/**
 * Reads SSE frames until `stop` matches one (then cancels the stream) or the stream ends. `keep: false` returns
 * none (a client that handles each frame in `stop` and holds on to nothing, as bench/event-relay.ts does).
 */
export async function readSseUntil(
  res: Response,
  stop: (f: SseFrame) => boolean,
  opts: { keep?: boolean } = {},
): Promise<SseFrame[]> {
  const reader = res.body!.getReader()
  // as a direct reader of a pipe decodes (bench/event-relay.ts): Node 20's streaming TextDecoder goes through ICU,
  // 4-7x the CPU per byte (docs/benchmarks.md, session 43), which a burst through the gateway paid and a direct
  // read did not
  const decoder = new StringDecoder('utf8')
  const frames: SseFrame[] = []
  // The text of a frame not yet ended, as it arrived: joined once its end is found, so a large frame that
  // arrives in many chunks is not copied again for every chunk.
  const parts: string[] = []
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    let text = decoder.write(r.value)
    while (text) {
      let block: string
      if (parts.at(-1)?.endsWith('\n') && text.startsWith('\n')) {
        // the blank line straddles two chunks
        block = parts.join('').slice(0, -1)
        text = text.slice(1)
      } else {
        const end = text.indexOf('\n\n')
        if (end === -1) {
          parts.push(text)
          break
        }
        block = parts.join('') + text.slice(0, end)
        text = text.slice(end + 2)
      }
      parts.length = 0
      const frame = parseFrame(block)
      if (!frame) continue
      if (opts.keep !== false) frames.push(frame)
      if (stop(frame)) {
        await reader.cancel()
        return frames
      }
    }
  }
  return frames
}

export const readSse = (res: Response) => readSseUntil(res, () => false)

/** Comments (keep-alives) give null; data lines are joined with newlines. */
function parseFrame(block: string): SseFrame | null {
  const frame: SseFrame = { data: '' }
  const data: string[] = []
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '')
    if (field === 'id') frame.id = value
    else if (field === 'event') frame.event = value
    else if (field === 'data') data.push(value)
  }
  if (data.length === 0 && frame.id === undefined) return null
  frame.data = data.join('\n')
  return frame
}
