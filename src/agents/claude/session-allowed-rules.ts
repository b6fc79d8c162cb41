import type { SessionHooks } from '../session.js'

/**
 * The rules a claude or claude-agent-acp session's `accept_for_session` answers allowed (Claude Code's spelling,
 * permission-prompts.ts `ruleArg`), kept with the session: each addition stores the whole set
 * (SessionHooks.allowedForSession), one store after the other, so answers given at once store in order and the last
 * store holds them all. A failed store (the session was taken over) keeps them in this process.
 */
export class SessionAllowedRules {
  private readonly rules: Set<string>
  /** The last store: each waits for the one before it. */
  private stored: Promise<void> = Promise.resolve()

  constructor(
    allowed: readonly string[],
    private readonly store: SessionHooks['allowedForSession'],
  ) {
    this.rules = new Set(allowed)
  }

  has(rule: string): boolean {
    return this.rules.has(rule)
  }

  list(): string[] {
    return [...this.rules]
  }

  /** Adds `rules`; resolves once the set is stored (at once when nothing was new or there is no store). */
  add(rules: readonly string[]): Promise<void> {
    const before = this.rules.size
    for (const rule of rules) this.rules.add(rule)
    const store = this.store
    if (this.rules.size === before || !store) return this.stored
    const all = this.list()
    this.stored = this.stored.then(() => store(all)).catch(() => {})
    return this.stored
  }
}
