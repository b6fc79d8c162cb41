import type { SessionHooks } from '../session.js'

/** Claude Code's spelling of a rule's content (its settings files and `--allowedTools`): `\`, `(` and `)` escaped. */
const escapedContent = (content: string): string => content.replace(/[\\()]/g, (c) => `\\${c}`)

/** The rule that allows exactly `command` again (claude-agent-acp's `execute` tool calls are Bash's). */
export const commandRule = (command: string): string => `Bash(${escapedContent(command)})`

/**
 * What the `accept_for_session` answers of a claude-agent-acp session allowed, kept by the gateway. The agent's
 * own `allow_always` applies Claude Code's suggested rule at its destination, mostly the workspace's
 * `.claude/settings.local.json`: a file in the workspace, loaded by every later session there when
 * CLAUDE_WORKSPACE_SETTINGS is on, and ignored when it is off (`settingSources: ["user"]`), so the command is asked
 * again on the next turn. Instead a command accepted for the session is answered `allow_once`, and its exact rule
 * (`Bash(<command>)`) is stored with the session (`store`: SessionHooks.allowedForSession) before the agent hears
 * the answer; the same command asked again in this process is accepted without asking, and a reopened session is
 * given the rules as its `allowedTools` (open-session.ts), so Claude Code does not ask. Other tools' answers are
 * the agent's own (an edit's `acceptEdits` holds in its process). ACP sessions cannot fork.
 */
export function claudeSessionRules(
  answers: SessionHooks,
  store: SessionHooks['allowedForSession'],
  allowed: readonly string[] = [],
): SessionHooks {
  const rules = new Set(allowed)
  /** The last store: each waits for the one before it, and the last one holds the whole set. */
  let stored: Promise<void> = Promise.resolve()
  const remember = (rule: string): Promise<void> => {
    if (rules.has(rule)) return stored
    rules.add(rule)
    const all = [...rules]
    // a failed store (the session was taken over) keeps the rule in this process
    if (store) stored = stored.then(() => store(all)).catch(() => {})
    return stored
  }
  return {
    requestApproval: async (ask, signal) => {
      const rule = ask.kind === 'command' && ask.command ? commandRule(ask.command) : undefined
      if (rule && rules.has(rule)) return 'accept'
      const decision = await answers.requestApproval(ask, signal)
      if (decision !== 'accept_for_session' || !rule) return decision
      await remember(rule)
      return 'accept'
    },
  }
}
