import { describe, expect, it } from 'vitest'
import type { StoredEvent } from '../../src/protocol/events.js'
import type { Approval, Session, Turn } from '../../src/protocol/sessions.js'
import { held } from '../mock-llm/index.js'
import { pendingApprovalAt, postJson, sharedGateway } from '../support/gateway.js'
import { readSse } from '../support/sse-client.js'

/**
 * Archiving a session while its turn runs (found by bench/session-lifecycle-stress.ts): the turn ends as
 * interrupted and its end (`turn.completed`, status interrupted) comes before `archived` in the session's events.
 * The event stream ends at `archived`: an end stored after it reached no client, in a replay or live.
 */
describe('archive during a running turn (real codex)', () => {
  const shared = sharedGateway()

  const json = async <T>(res: Response | Promise<Response>) => (await (await res).json()) as T

  it("the turn's end is in the session's events, before archived, and a replay from 0 gives every stored event", async () => {
    const { mock, gw } = shared
    const session = await json<Session>(postJson(`${gw.url}/v1/sessions`, {}))
    // the model's answer is held until the end: the turn certainly runs when the archive comes
    const slow = held({ kind: 'text', text: 'too late' })
    mock.script(slow.step)
    const turn = await json<Turn>(postJson(`${gw.url}/v1/sessions/${session.id}/turns`, { input: 'be slow' }))
    await slow.asked
    const archived = await json<Session>(postJson(`${gw.url}/v1/sessions/${session.id}/archive`, {}))
    expect(archived.status).toBe('archived')
    slow.release()
    await gw.ctx.sessions.idle()
    const full = await json<Session & { turns: Turn[] }>(fetch(`${gw.url}/v1/sessions/${session.id}`))
    expect(full.turns.find((t) => t.id === turn.id)?.status).toBe('interrupted')
    // the stream of an archived session replays what is stored up to archived, then ends
    const res = await fetch(`${gw.url}/v1/sessions/${session.id}/events`, {
      headers: { accept: 'text/event-stream', 'last-event-id': '0' },
    })
    const events = (await readSse(res)).map((f) => JSON.parse(f.data) as StoredEvent)
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: full.lastSeq }, (_, i) => i + 1))
    const ends = events.filter((e) => e.type === 'turn.completed' && e.turnId === turn.id)
    expect(ends).toMatchObject([{ status: 'interrupted' }])
    expect(events.at(-1)).toMatchObject({ type: 'session.status', status: 'archived' })
  })

  it('archived while the turn waits for an approval: the approval is answered before archived', async () => {
    const { mock, gw } = shared
    const session = await json<Session>(
      postJson(`${gw.url}/v1/sessions`, { approvalPolicy: 'untrusted', sandbox: 'workspace-write' }),
    )
    mock.script({ kind: 'exec_command', cmd: 'echo never > never.txt' }, { kind: 'text', text: 'gave up' })
    await postJson(`${gw.url}/v1/sessions/${session.id}/turns`, { input: 'ask first' })
    const approval = await pendingApprovalAt(gw.url, session.id)
    // the cancel the turn's end sends its approval (answered when the agent drops the request) lands only after
    // the archive answered: whatever the archive itself does must answer the approval before archived
    const store = gw.ctx.store
    const resolve = store.resolveApproval
    let archiveAnswered!: () => void
    const answered = new Promise<void>((r) => (archiveAnswered = r))
    store.resolveApproval = async (...args) => {
      if (args[1].by === 'turn_ended') await answered
      return resolve.apply(store, args)
    }
    try {
      const archived = await json<Session>(postJson(`${gw.url}/v1/sessions/${session.id}/archive`, {}))
      expect(archived.status).toBe('archived')
    } finally {
      archiveAnswered()
    }
    await gw.ctx.sessions.idle()
    store.resolveApproval = resolve
    const stored = await json<Approval>(fetch(`${gw.url}/v1/approvals/${approval.id}`))
    expect(stored).toMatchObject({ state: 'resolved', decision: 'cancel' })
    const res = await fetch(`${gw.url}/v1/sessions/${session.id}/events`, {
      headers: { accept: 'text/event-stream', 'last-event-id': '0' },
    })
    const events = (await readSse(res)).map((f) => JSON.parse(f.data) as StoredEvent)
    const { lastSeq } = await json<Session>(fetch(`${gw.url}/v1/sessions/${session.id}`))
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: lastSeq }, (_, i) => i + 1))
    expect(events.filter((e) => e.type === 'approval.resolved')).toHaveLength(1)
    expect(events.at(-1)).toMatchObject({ type: 'session.status', status: 'archived' })
  })
})
