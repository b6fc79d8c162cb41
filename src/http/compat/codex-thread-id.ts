/**
 * A codex thread id as codex app-server reads one (Rust's `uuid` crate, `Uuid::parse_str`): 32 hex digits, or
 * hyphenated 8-4-4-4-12, bare, in braces or after `urn:uuid:`, any case. Its canonical form (lowercase,
 * hyphenated) is how codex prints it and how the gateway stores it; what it refuses is said in the crate's words,
 * which app-server puts after `invalid thread id: ` (seed 003: http/compat/codex-agent-server-errors.ts).
 */
export function parseThreadId(input: string): { id: string } | { error: string } {
  const hyphenated = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
  const inner =
    input.length === 38 && input.startsWith('{') && input.endsWith('}')
      ? input.slice(1, -1)
      : input.length === 45 && input.startsWith('urn:uuid:')
        ? input.slice('urn:uuid:'.length)
        : input
  if (inner.length === 36 && hyphenated.test(inner)) return { id: inner.toLowerCase() }
  if (input.length === 32 && /^[0-9a-f]{32}$/i.test(input)) {
    const h = input.toLowerCase()
    return { id: `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}` }
  }
  return { error: uuidError(input) }
}

/** The `uuid` crate's description of a string it refused (its `InvalidUuid::into_err`, then `Display`). */
function uuidError(input: string): string {
  const [rest, offset, simple] =
    input.length >= 2 && input.startsWith('{') && input.endsWith('}')
      ? [input.slice(1, -1), 1, false]
      : input.startsWith('urn:uuid:')
        ? [input.slice('urn:uuid:'.length), 'urn:uuid:'.length, false]
        : [input, 0, true]
  const bytes = (s: string) => Buffer.byteLength(s)
  const bounds: number[] = []
  let hyphens = 0
  let at = 0
  for (const c of rest) {
    if (c === '-') {
      if (hyphens < 4) bounds.push(at)
      hyphens++
    } else if (!/^[0-9a-fA-F]$/.test(c))
      return `invalid character: expected an optional prefix of \`urn:uuid:\` followed by [0-9a-fA-F-], found \`${c}\` at ${at + offset + 1}`
    at += bytes(c)
  }
  if (hyphens === 0 && simple)
    return `invalid length: expected length 32 for simple format, found ${bytes(input)}`
  if (hyphens !== 4) return `invalid group count: expected 5, found ${hyphens + 1}`
  const starts = [0, 9, 14, 19, 24]
  const expected = [8, 4, 4, 4, 12]
  for (let i = 0; i < 4; i++)
    if (bounds[i] !== starts[i + 1]! - 1)
      return `invalid group length in group ${i}: expected ${expected[i]}, found ${bounds[i]! - starts[i]!}`
  return `invalid group length in group 4: expected 12, found ${bytes(input) - 24}`
}
