/**
 * The gateway's own rule for one exact tool call of a claude-agent-acp session, `gateway:<tool> <input as JSON>`
 * (keys sorted), for a tool Claude Code has no rule for one exact call of: `WebSearch` allows every search,
 * `WebFetch(domain:…)` every page of the domain, `Read(…)` / `Edit(…)` a path pattern (gitignore syntax), `Skill(…)` and
 * an MCP tool every input. It is matched by the gateway (claude-session-rules.ts) and never given to Claude Code: a
 * Claude Code rule starts with its tool's name, which has no `:`.
 */
const prefix = 'gateway:'

export const exactCallRule = (tool: string, input: unknown): string =>
  `${prefix}${tool} ${JSON.stringify(sortedKeys(input))}`

/** The rules Claude Code reads (`allowedTools` at session/load): not the gateway's own. */
export const claudeCodeRules = (rules: readonly string[]): string[] =>
  rules.filter((rule) => !rule.startsWith(prefix))

/** `value` with every object's keys in order: the same call whatever order the model wrote its input in. */
function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys)
  if (typeof value !== 'object' || value === null) return value
  const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return Object.fromEntries(entries.map(([k, v]) => [k, sortedKeys(v)]))
}
