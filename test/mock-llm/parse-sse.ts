export interface ParsedSseEvent {
  event?: string
  data: unknown
}

/** Parse a complete text/event-stream body; `data` is JSON-parsed when possible. */
export function parseSse(text: string): ParsedSseEvent[] {
  const events: ParsedSseEvent[] = []
  for (const block of text.split(/\r?\n\r?\n/)) {
    let event: string | undefined
    const data: string[] = []
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith('event:')) event = line.slice(6).trim()
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''))
    }
    if (data.length === 0 && event === undefined) continue
    const raw = data.join('\n')
    let parsed: unknown = raw
    try {
      parsed = JSON.parse(raw)
    } catch {}
    events.push(event === undefined ? { data: parsed } : { event, data: parsed })
  }
  return events
}
