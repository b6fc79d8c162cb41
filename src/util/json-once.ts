/**
 * The JSON text of values that are never changed once built (stored events), kept beside the value so it is
 * encoded once however many writers need it: the store, then every subscriber's stream.
 */
const texts = new WeakMap<object, string>()

/** `JSON.stringify(value)`, computed on the first call for this object and remembered while it lives. */
export function jsonOnce(value: object): string {
  let text = texts.get(value)
  if (text === undefined) {
    text = JSON.stringify(value)
    texts.set(value, text)
  }
  return text
}

const bytes = new WeakMap<object, Buffer>()
/** The head written in front of a value's bytes (see jsonFramed). */
const heads = new WeakMap<object, string>()

/** Room kept before a value's JSON bytes for a frame's head, and after them for two newlines. */
const headroom = 64
const lf = 0x0a

/**
 * The UTF-8 bytes of `jsonOnce(value)`, computed on the first call and remembered: the SQLite store binds them
 * and every SSE frame / NDJSON line of the event is built around them (jsonFramed), so the text is encoded
 * once and its bytes exist once. Text without non-ASCII characters (most agent output; `byteLength` tells)
 * is copied byte for byte instead of encoded. A text this computes is not kept: from then on the value's JSON
 * lives as its bytes (outside the heap), not also as a string as large on the heap while the value lives.
 */
export function jsonBytesOnce(value: object): Buffer {
  let out = bytes.get(value)
  if (out === undefined) {
    const text = texts.get(value) ?? JSON.stringify(value)
    const n = Buffer.byteLength(text)
    const room = Buffer.allocUnsafe(headroom + n + 2)
    room.write(text, headroom, n, n === text.length ? 'latin1' : 'utf8')
    room[headroom + n] = lf
    room[headroom + n + 1] = lf
    out = room.subarray(headroom, headroom + n)
    bytes.set(value, out)
    // nor one read back with its value (parseJsonOnce): the bytes serve every writer from now on
    texts.delete(value)
  }
  return out
}

/**
 * `head`, the value's JSON bytes, then one or two newlines: an SSE frame or an NDJSON line. It is a view of
 * jsonBytesOnce's memory with the head written into the room before it (no copy of the bytes, no second
 * buffer of their size); a value gets one head that way, any other head (or a longer one) gets a copy.
 * The newlines after the bytes are written once, with them.
 */
export function jsonFramed(value: object, head: string, newlines: 1 | 2): Buffer {
  const json = jsonBytesOnce(value)
  const size = Buffer.byteLength(head)
  const written = heads.get(value)
  if (size > headroom || (size > 0 && written !== undefined && written !== head))
    return Buffer.concat([Buffer.from(head), json, Buffer.from(newlines === 1 ? '\n' : '\n\n')])
  // (a longer head would start before the room: checked above)
  const whole = Buffer.from(json.buffer, json.byteOffset - size, size + json.length + newlines)
  if (size === 0) return whole
  if (written === undefined) {
    whole.write(head, 0, size, 'utf8')
    heads.set(value, head)
  }
  return whole
}

/** Parses JSON text read back (from the store) and remembers the text as the value's encoding. */
export function parseJsonOnce<T extends object>(text: string): T {
  const value = JSON.parse(text) as T
  texts.set(value, text)
  return value
}
