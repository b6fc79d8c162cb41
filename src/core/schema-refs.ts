/**
 * The first `$ref` (or `$dynamicRef`, `$recursiveRef`) of a JSON Schema that points outside it: anything but a
 * fragment of the schema itself (`#`, `#/$defs/x`, `#anchor`) or an `$id` the schema declares (`urn:x`,
 * `urn:x#/p`). Values of `const`, `enum`, `default` and `examples` are data, not schemas, and are not looked into.
 * Its place is given as a path (`.properties.a.$ref`).
 */
export function externalRef(schema: unknown): { path: string; ref: string } | undefined {
  const ids = new Set<string>()
  walk(schema, '', (key, value) => {
    if (key === '$id') ids.add(value.split('#')[0] ?? '')
    return false
  })
  let found: { path: string; ref: string } | undefined
  walk(schema, '', (key, value, path) => {
    if (!refKeywords.has(key) || value.startsWith('#') || ids.has(value.split('#')[0] ?? '')) return false
    found = { path, ref: value }
    return true
  })
  return found
}

/** Calls `visit` with each string keyword of the schema's objects (not of its data) until it answers true. */
function walk(
  node: unknown,
  at: string,
  visit: (key: string, value: string, path: string) => boolean,
): boolean {
  if (Array.isArray(node)) return node.some((item, i) => walk(item, `${at}[${i}]`, visit))
  if (!node || typeof node !== 'object') return false
  for (const [key, value] of Object.entries(node)) {
    const path = `${at}.${key}`
    if (
      typeof value === 'string' ? visit(key, value, path) : !dataKeywords.has(key) && walk(value, path, visit)
    )
      return true
  }
  return false
}

const refKeywords = new Set(['$ref', '$dynamicRef', '$recursiveRef'])
const dataKeywords = new Set(['const', 'enum', 'default', 'examples'])
