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
  const decoder = new TextDecoder()
  const frames: SseFrame[] = []
  let buffered = ''
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    // A frame's end may be in what just arrived or straddle its start: search from just before it.
    const from = Math.max(0, buffered.length - 1)
    buffered += decoder.decode(r.value, { stream: true })
    let end = buffered.indexOf('\n\n', from)
    while (end !== -1) {
      const frame = parseFrame(buffered.slice(0, end))
      buffered = buffered.slice(end + 2)
      end = buffered.indexOf('\n\n')
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
