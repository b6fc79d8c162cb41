import { ruleArg } from '../claude/permission-prompts.js'
import { SessionAllowedRules } from '../claude/session-allowed-rules.js'
import { exactCallRule } from '../exact-call-rule.js'
import type { ApprovalAsk, SessionHooks } from '../session.js'

/** The rule that allows exactly `command` again (claude-agent-acp's `execute` tool calls are Bash's). */
export const commandRule = (command: string): string => ruleArg({ toolName: 'Bash', ruleContent: command })

/** An ask other than a command's or a file change's, as the same tool call asked again would be: title and input. */
const permissionKey = (ask: ApprovalAsk): string | undefined =>
  ask.kind === 'permission' && ask.input !== undefined
    ? JSON.stringify([ask.reason ?? null, ask.input])
    : undefined

/** A WebFetch's URL: what its rule keeps (whatever the prompt it is fetched with), as the claude driver's does. */
const fetchedUrl = (ask: ApprovalAsk): string | undefined => {
  const url = (ask.input as { url?: unknown } | null | undefined)?.url
  return ask.tool === 'WebFetch' && typeof url === 'string' ? url : undefined
}

/**
 * The rule kept with the session for an ask: Claude Code's for a command, the gateway's own for another tool call
 * (a WebFetch's: its exact URL, `gateway:WebFetch {"url":…}`, the claude driver's rule).
 */
function ruleOf(ask: ApprovalAsk): string | undefined {
  if (ask.kind === 'command') return ask.command ? commandRule(ask.command) : undefined
  const url = fetchedUrl(ask)
  if (ask.kind === 'permission' && url !== undefined) return exactCallRule('WebFetch', { url })
  if (ask.kind === 'permission' && ask.tool && ask.input !== undefined)
    return exactCallRule(ask.tool, ask.input)
  return undefined
}

/** A claude-agent-acp session's hooks, and the rules its `accept_for_session` answers allowed so far (with those it was opened with). */
export interface ClaudeSessionHooks extends SessionHooks {
  allowedRules(): string[]
}

/**
 * What the `accept_for_session` answers of a claude-agent-acp session allowed, kept by the gateway. The agent's
 * own `allow_always` applies Claude Code's suggested rule at its destination, mostly the workspace's
 * `.claude/settings.local.json` (commands: `Bash(…)`; `WebSearch`, `WebFetch(domain:…)`, MCP tools): a file in the
 * workspace, loaded by every later session there when CLAUDE_WORKSPACE_SETTINGS is on, and ignored when it is off
 * (`settingSources: ["user"]`), so the tool is asked again on the next turn. Instead, the answer is `allow_once`, and
 * the exact call is allowed again, never more:
 * - a command: its exact rule (`Bash(<command>)`) is stored with the session (`store`:
 *   SessionHooks.allowedForSession) before the agent hears the answer; the same command asked again in this process
 *   is accepted without asking, and a reopened session (resumed, or reopened after its process died) is given the
 *   rules allowed until then as its `allowedTools` (open-session.ts), so Claude Code does not ask;
 * - any other permission (web search and fetch, skills, MCP tools, reads outside the cwd) of a tool the agent named
 *   (the tool call's `_meta.claudeCode.toolName`): the gateway's own rule for the exact call (exact-call-rule.ts:
 *   tool and input; a WebFetch's its URL only, whatever its prompt, as the claude driver's; Claude Code's rules
 *   for these allow more, e.g. `WebSearch` every search, `WebFetch(domain:…)` every page of the host) is stored the
 *   same way and matched by the gateway, in this process and once the session is reopened; it is not given to
 *   Claude Code, which asks again and is answered `allow_once`. Of a tool not named, the same call (title and
 *   exact input) is accepted again while the session is open in this process; without an input, once;
 * - a file change keeps the agent's own answer: its `allow_always` switches the session to `acceptEdits` in its
 *   process and writes nothing.
 * ACP sessions cannot fork.
 */
export function claudeSessionRules(
  answers: SessionHooks,
  store: SessionHooks['allowedForSession'],
  allowed: readonly string[] = [],
): ClaudeSessionHooks {
  const rules = new SessionAllowedRules(allowed, store)
  const accepted = new Set<string>()
  return {
    allowedRules: () => rules.list(),
    requestApproval: async (ask, signal) => {
      const rule = ruleOf(ask)
      const key = rule ? undefined : permissionKey(ask)
      if ((rule && rules.has(rule)) || (key && accepted.has(key))) return 'accept'
      const decision = await answers.requestApproval(ask, signal)
      // a file change's allow_always is the agent's own (acceptEdits, in its process)
      if (decision !== 'accept_for_session' || ask.kind === 'file_change') return decision
      if (rule) await rules.add([rule])
      if (key) accepted.add(key)
      return 'accept'
    },
  }
}
