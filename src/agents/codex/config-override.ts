/**
 * codex `-c key=value` overrides, with every value written as TOML: codex parses the value as TOML and, when that
 * fails, silently takes the text itself with its outer quotes trimmed (escapes left undecoded), so a value that is
 * not valid TOML arrives changed instead of refused. A JSON string is a TOML basic string except for two cases
 * (checked against codex 0.169): a raw DEL (U+007F), which TOML forbids unescaped, and a lone surrogate, which
 * JSON writes as `\ud800` and TOML refuses (an escape must be a Unicode scalar value). U+2028/U+2029 may stay raw.
 */

/** A TOML value codex reads: a string, a number, a boolean, an array of strings, or an inline table of those. */
export type TomlValue = TomlScalar | { readonly [key: string]: TomlScalar }
type TomlScalar = string | number | boolean | readonly string[]

/** `s` as a TOML basic string: JSON's escaping, DEL escaped, a lone surrogate as U+FFFD (as argv encodes it). */
export function tomlString(s: string): string {
  return JSON.stringify(s.replace(loneSurrogate, '\uFFFD')).replaceAll('\u007f', '\\u007f')
}
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g

/** A TOML key segment: bare when it may be (letters, digits, `_`, `-`), else quoted. */
export function tomlKey(s: string): string {
  return /^[A-Za-z0-9_-]+$/.test(s) ? s : tomlString(s)
}

/** A value as TOML (a number must be finite; a table's keys go through tomlKey, in their order). */
export function tomlValue(value: TomlValue): string {
  if (typeof value === 'string') return tomlString(value)
  if (typeof value === 'boolean') return String(value)
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`not a TOML number: ${value}`)
    return String(value)
  }
  if (isStrings(value)) return `[${value.map(tomlString).join(',')}]`
  return `{${Object.entries(value)
    .map(([k, v]) => `${tomlKey(k)}=${tomlValue(v)}`)
    .join(',')}}`
}
const isStrings = (value: TomlValue): value is readonly string[] => Array.isArray(value)

/** `key=value` with the value as TOML; `key` is a dotted path the caller writes (segments through tomlKey). */
export function codexSetting(key: string, value: TomlValue): string {
  return `${key}=${tomlValue(value)}`
}

/** The `-c key=value` arguments of one codex override. */
export function codexOverride(key: string, value: TomlValue): string[] {
  return ['-c', codexSetting(key, value)]
}
