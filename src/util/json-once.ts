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

/**
 * The UTF-8 bytes of `jsonOnce(value)`, computed on the first call and remembered: the SQLite store binds them
 * and every SSE frame / NDJSON line of the event is built from them, so the text is encoded once. Text without
 * non-ASCII characters (most agent output; `byteLength` tells) is copied byte for byte instead of encoded.
 */
export function jsonBytesOnce(value: object): Buffer {
  let out = bytes.get(value)
  if (out === undefined) {
    const text = jsonOnce(value)
    out = Buffer.from(text, Buffer.byteLength(text) === text.length ? 'latin1' : 'utf8')
    bytes.set(value, out)
  }
  return out
}

/** Parses JSON text read back (from the store) and remembers the text as the value's encoding. */
export function parseJsonOnce<T extends object>(text: string): T {
  const value = JSON.parse(text) as T
  texts.set(value, text)
  return value
}
