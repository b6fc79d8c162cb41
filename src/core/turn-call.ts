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

/**
 * What a turn may need of the node that runs it beyond text input; `turnId`: its id, chosen by the caller (an
 * Idempotency-Key held for it).
 */
export type TurnNeed = 'options' | 'images' | 'turnId'

/** The needs this version's nodes take (serve-session-calls.ts refuses the others). */
export const knownTurnNeeds: readonly TurnNeed[] = ['options', 'images', 'turnId']

/** The call methods for a forwarded turn, oldest first (every node keeps answering all of them). */
export const turnMethods = {
  /** Text alone: every version. */
  plain: 'session.turn',
  /** Options, text input: nodes since turn options (before image items), which take no `needs`. */
  options: 'session.turnWithOptions',
  /** Anything else: nodes since image items; the call names its `needs`, checked by checkTurnNeeds. */
  needs: 'session.turnWith',
} as const

/**
 * The need of each input item type (undefined: none, text). A new item type must name one, or the compiler says
 * so; the owner of a forwarded turn reads another node's items by it (an item type missing here is one this
 * node cannot read: readNeeds).
 */
const itemNeeds: { readonly [T in TurnInputItem['type']]: TurnNeed | undefined } = {
  text: undefined,
  localImage: 'images',
  image: 'images',
}

/** The turn options this version takes (each needs `options`). A new option must be named here, or the compiler says so. */
const knownOptions: { readonly [K in keyof Required<TurnOptions>]: true } = {
  approvalPolicy: true,
  outputSchema: true,
}

/** The need of an input item (none: text). */
const needOf = (item: TurnInputItem): TurnNeed | undefined => itemNeeds[item.type]

/** What the turn needs beyond text, each once, in knownTurnNeeds' order. */
export function needsOf(input: TurnInput, options: TurnOptions, turnId?: string): TurnNeed[] {
  const needs = new Set<TurnNeed>()
  if (optionNames(options).length) needs.add('options')
  if (turnId !== undefined) needs.add('turnId')
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
  if (need === 'turnId') return "a turn id of its caller's choosing (an Idempotency-Key's)"
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

/** What a forwarded turn's input and options need, as this node reads them, and what it cannot read at all. */
interface ReadNeeds {
  needs: TurnNeed[]
  /** Item types and option names this version does not know (`input item type "x"`, `turn option "y"`). */
  unknown: string[]
}

const hasOwn = (o: object, key: string) => Object.hasOwn(o, key)

/**
 * The needs of a forwarded turn's `input` and `options` as this node reads them (the owner derives them itself:
 * the caller's list is a claim, not the truth). Both come from another node: checked as data (400 when they are
 * not a list of items with a string `type`, and an object of options).
 */
function readNeeds(input: unknown, options: unknown): ReadNeeds {
  if (!Array.isArray(input) || !input.every((i) => typeof i?.type === 'string'))
    throw new AppError(
      'invalid_request',
      `a forwarded turn's input must be a list of items with a type, got ${JSON.stringify(input)}`,
    )
  if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options)))
    throw new AppError(
      'invalid_request',
      `a forwarded turn's options must be an object, got ${JSON.stringify(options)}`,
    )
  const found = new Set<TurnNeed>()
  const unknown: string[] = []
  for (const { type } of input as { type: string }[]) {
    if (!hasOwn(itemNeeds, type)) unknown.push(`input item type "${type}"`)
    else {
      const need = itemNeeds[type as TurnInputItem['type']]
      if (need) found.add(need)
    }
  }
  for (const [name, value] of Object.entries((options ?? {}) as Record<string, unknown>)) {
    if (value === undefined) continue
    if (!hasOwn(knownOptions, name)) unknown.push(`turn option "${name}"`)
    found.add('options')
  }
  return { needs: knownTurnNeeds.filter((n) => found.has(n)), unknown: [...new Set(unknown)] }
}

/**
 * The owner's check of any forwarded turn: what its input and options need, as this node reads them (readNeeds),
 * must be among what its call declared (`declared`: a `session.turnWith` call's own `needs`, checked by
 * checkTurnNeeds first; none for `session.turn`; `options` for `session.turnWithOptions`), and all of it must be
 * something this node can read. A caller that under-declares (a bug, or nodes of versions that disagree on what
 * an item or option needs) is refused (409, naming what was not declared) before anything is stored or sent to
 * the agent, rather than having the turn run with its items dropped or misread. Declaring more than the turn
 * needs is harmless (it only picks a method fewer old nodes answer) and passes.
 */
export function checkDeclaredNeeds(
  sessionId: string,
  node: string,
  method: string,
  declared: readonly string[],
  input: unknown,
  options: unknown,
): void {
  const { needs, unknown } = readNeeds(input, options)
  const undeclared = needs.filter((n) => !declared.includes(n))
  if (undeclared.length === 0 && unknown.length === 0) return
  const what = [...undeclared.map((n) => described(n)), ...unknown].join(' and ')
  const declaring = declared.length ? `declaring only [${declared.join(', ')}]` : 'declaring no needs'
  throw new AppError(
    'conflict',
    `session ${sessionId}'s turn came to node ${node} by ${method} ${declaring}, but it has ${what}: refused ` +
      `before anything was done, rather than ${unknown.length ? 'run without what this node cannot read' : 'taken on a list that would have it misread by a node lacking them'} ` +
      '(the forwarding node runs a version that disagrees with this one): send the turn again once the nodes ' +
      'run the same version',
    { node, method, declared: [...declared], undeclared: [...undeclared, ...unknown], retryAfterSeconds: 30 },
  )
}
