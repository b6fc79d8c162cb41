import type { TurnInput, TurnOptions } from '../agents/session.js'
import { AppError } from '../protocol/errors.js'
import type { ClusterSessions } from './cluster-sessions.js'
import type { NodeCalls } from './node-calls.js'
import type { CreateSession, OnBusy } from './session-manager.js'
import { checkDeclaredNeeds, checkTurnNeeds, turnMethods } from './turn-call.js'

/** A forwarded turn's `turnId` (from another node: checked as data), a turn id as ids.ts makes them. */
function turnIdOf(turnId: unknown): string {
  if (typeof turnId !== 'string' || !/^turn_[0-9A-Za-z]{1,64}$/.test(turnId))
    throw new AppError(
      'invalid_request',
      `a forwarded turn's turnId must be a turn id, got ${JSON.stringify(turnId)}`,
    )
  return turnId
}

/** Every forwarded session call names the tenant whose scope it was made in (null: untenanted). */
interface Scoped {
  tenant: string | null
}

/**
 * Answers the session calls other nodes forward to this one: one handler per method for the whole node, which
 * does the call with the session manager of the caller's tenant scope (each tenant has its own, with its own
 * agents and view of the store). That scope's store hides other tenants' sessions, so a call about one of them
 * is a 404 here as it would be on the caller.
 */
export function serveSessionCalls(
  calls: NodeCalls,
  sessionsOf: (tenant: string | null) => ClusterSessions,
): void {
  const here = (p: Scoped) => sessionsOf(p.tenant ?? null).here
  calls.handle<Scoped & { agentId: string; fields: CreateSession; id?: string }>('session.create', (p) =>
    here(p).create(p.agentId, p.fields, p.id),
  )
  type TurnCall = Scoped & {
    id: string
    input: TurnInput
    onBusy: OnBusy
    options?: TurnOptions
    /** The new turn's id, chosen by the caller (an Idempotency-Key held for it); declared as the need `turnId`. */
    turnId?: unknown
  }
  const turn = (p: TurnCall) =>
    here(p).startTurn(
      p.id,
      p.input,
      p.onBusy,
      p.options,
      p.turnId === undefined ? undefined : turnIdOf(p.turnId),
    )
  // A turn with more than text (options, image items) comes by a method a node of an older version does not
  // answer, so its caller refuses the turn rather than have it misread (turn-call.ts): `session.turnWith` names
  // what the turn needs, and a need this node does not know is refused here. Callers of earlier versions still
  // send `session.turn` and `session.turnWithOptions`: both are answered as before. Whatever the method, this node
  // derives what the turn needs from its input and options itself and refuses (409) a turn that has more than
  // its call declared (checkDeclaredNeeds): the caller's list is not taken on trust.
  const checked =
    (method: string, declared: (p: TurnCall & { needs?: unknown }) => readonly string[]) =>
    async (p: TurnCall & { needs?: unknown }) => {
      checkDeclaredNeeds(p.id, calls.node, method, declared(p), p.input, p.options)
      return turn(p)
    }
  calls.handle<TurnCall>(
    turnMethods.plain,
    checked(turnMethods.plain, () => []),
  )
  calls.handle<TurnCall>(
    turnMethods.options,
    checked(turnMethods.options, () => ['options']),
  )
  calls.handle<TurnCall & { needs: unknown }>(
    turnMethods.needs,
    checked(turnMethods.needs, (p) => {
      checkTurnNeeds(p.id, calls.node, p.needs)
      return p.needs as string[]
    }),
  )
  calls.handle<Scoped & { id: string }>('session.interrupt', (p) => here(p).interrupt(p.id))
  calls.handle<Scoped & { id: string }>('session.fork', (p) => here(p).fork(p.id))
  calls.handle<Scoped & { id: string }>('session.archive', (p) => here(p).archive(p.id))
  calls.handle<Scoped & { id: string; includeTurns: boolean }>('session.read', (p) =>
    here(p).read(p.id, p.includeTurns),
  )
  calls.handle<Scoped & { id: string }>('session.resume', (p) => here(p).resume(p.id))
  calls.handle<Scoped & { agentId: string; method: string; params: unknown }>('agent.call', (p) =>
    here(p).call(p.agentId, p.method, p.params),
  )
}
