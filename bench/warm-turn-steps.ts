/**
 * The store steps a warm codex session turn makes, in order (bench/turn-wal-pages.ts, bench/sparse-turns-wal.ts):
 * its start (`session.status` running), codex's turn id with `turn.started`, `agentEvents` agent messages of `text`,
 * its end (`turn.completed`, `session.status` idle). `step` runs each write (a bench measures around it).
 */
import type { SessionClaim, Store } from '../src/store/store.js'
import { newTurn } from '../test/contract/store-contract.js'

export type WarmTurnStep = 'start' | 'agent turn id' | 'agent event' | 'end'

export async function warmTurnSteps(
  store: Store,
  turn: { id: string; sessionId: string; claim: SessionClaim },
  { agentEvents = 1, text = 'ok' }: { agentEvents?: number; text?: string },
  step: (name: WarmTurnStep, write: () => Promise<unknown>) => Promise<void>,
): Promise<void> {
  const { id, sessionId, claim } = turn
  const at = new Date().toISOString()
  const event = (type: string, fields: object) => ({ type, ...fields }) as never
  const stored = (type: string, fields: object) => ({
    ownerId: sessionId,
    event: event(type, fields),
    at,
    fence: claim,
  })
  await step('start', () =>
    store.createTurnWithEvents(
      newTurn(id, sessionId, { status: 'running', createdAt: at, startedAt: at, approvalPolicy: null }),
      claim,
      () => ({ status: 'running', at }),
      () => [stored('session.status', { status: 'running' })],
    ),
  )
  await step('agent turn id', () =>
    store.updateTurnWithEvents(
      id,
      { agentTurnId: '019aef8c-7d3e-7c41-9b8e-5f0e3a1c2b4d' },
      undefined,
      claim,
      () => [stored('turn.started', { turnId: id })],
    ),
  )
  for (let k = 0; k < agentEvents; k++)
    await step('agent event', () =>
      store.appendEvent(
        sessionId,
        event('item.completed', { turnId: id, item: { id: `m${k}`, type: 'agent_message', text } }),
        at,
        claim,
      ),
    )
  await step('end', () =>
    store.completeTurnWithEvents(
      id,
      {
        status: 'completed',
        finishedAt: at,
        finalResponse: text,
        usage: { inputTokens: 1200, cachedInputTokens: 1000, outputTokens: 20 } as never,
      },
      at,
      () => 'idle',
      claim,
      () => [
        stored('turn.completed', { turnId: id, status: 'completed', usage: null }),
        stored('session.status', { status: 'idle' }),
      ],
    ),
  )
}
