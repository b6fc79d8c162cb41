import type { TurnInput, TurnInputItem, TurnOptions } from '../agents/session.js'
import { AppError } from '../protocol/errors.js'

/**
 * A turn forwarded to the node that holds its session (cluster-sessions.ts), in a cluster whose nodes may run
 * different versions (a rolling upgrade). A turn of text alone goes by `session.turn`, which every version answers.
 * A turn with more than that "needs" what a node of an older version may not know (it would take the call and
 * misread it: drop the options, take an image item for text), so it goes by a method only nodes that know it
 * answer, and names its needs: the node refuses (409) a need it does not know, and a node that lacks the method
 * altogether (lacksMethod) is refused for by its caller, alike. A new kind of input item or turn option adds a
 * need here (needsOf), not a method.
 */

/** What a turn may need of the node that runs it beyond text input. */
export type TurnNeed = 'options' | 'images'

/** The needs this version's nodes take (serve-session-calls.ts refuses the others). */
export const knownTurnNeeds: readonly TurnNeed[] = ['options', 'images']

/** The call methods for a forwarded turn, oldest first (every node keeps answering all of them). */
export const turnMethods = {
  /** Text alone: every version. */
  plain: 'session.turn',
  /** Options, text input: nodes since turn options (before image items), which take no `needs`. */
  options: 'session.turnWithOptions',
  /** Anything else: nodes since image items; the call names its `needs`, checked by checkTurnNeeds. */
  needs: 'session.turnWith',
} as const

/** The need of an input item (none: text). A new item type must name one, or the compiler says so. */
function needOf(item: TurnInputItem): TurnNeed | undefined {
  switch (item.type) {
    case 'text':
      return undefined
    case 'localImage':
    case 'image':
      return 'images'
  }
}

/** What the turn needs beyond text, each once, in knownTurnNeeds' order. */
export function needsOf(input: TurnInput, options: TurnOptions): TurnNeed[] {
  const needs = new Set<TurnNeed>()
  if (optionNames(options).length) needs.add('options')
  for (const item of input) {
    const need = needOf(item)
    if (need) needs.add(need)
  }
  return knownTurnNeeds.filter((n) => needs.has(n))
}

/** The method that carries a turn with `needs` to a node that can take it (the oldest that can). */
export function turnMethodFor(needs: readonly TurnNeed[]): string {
  if (needs.length === 0) return turnMethods.plain
  if (needs.every((n) => n === 'options')) return turnMethods.options
  return turnMethods.needs
}

const optionNames = (options: TurnOptions) =>
  Object.entries(options).flatMap(([name, value]) => (value === undefined ? [] : [name]))

/** What each need is, as a refusal names it (`options`: the turn's own, when the caller knows them). */
const described = (need: string, options?: TurnOptions): string => {
  if (need === 'options')
    return options ? `a turn's options (${optionNames(options).join(', ')})` : "a turn's options"
  if (need === 'images') return 'image input items (localImage, image)'
  return `what it calls "${need}"`
}

/**
 * The 409 for a turn whose session's holder (node `node`) runs an older version that lacks `lacking` (needs by
 * name: a node names those it does not know, which may be newer than its own version's list).
 */
export function heldByOlderNode(
  sessionId: string,
  node: string,
  lacking: readonly string[],
  options?: TurnOptions,
): AppError {
  const what = lacking.map((n) => described(n, options)).join(' and ')
  return new AppError(
    'conflict',
    `session ${sessionId} is held by node ${node}, which runs an older version of the gateway that cannot take ` +
      `${what}: send the turn without them, or again once that node runs this version`,
    { node, lacking: [...lacking], retryAfterSeconds: 30 },
  )
}

/**
 * The callee's check of a `session.turnWith` call: a need it does not know (its caller runs a newer version) is
 * refused (409) before anything is done, rather than misread. `needs` comes from another node: checked as data.
 */
export function checkTurnNeeds(sessionId: string, node: string, needs: unknown): void {
  if (!Array.isArray(needs) || !needs.every((n) => typeof n === 'string'))
    throw new AppError(
      'invalid_request',
      `a forwarded turn's needs must be a list of names, got ${JSON.stringify(needs)}`,
    )
  const lacking = needs.filter((n) => !(knownTurnNeeds as readonly string[]).includes(n))
  if (lacking.length) throw heldByOlderNode(sessionId, node, lacking)
}
