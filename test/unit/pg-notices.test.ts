import { describe, expect, it } from 'vitest'
import type { StoredEvent } from '../../src/protocol/events.js'
import { type Notice, noticesOf } from '../../src/store/postgres/pg-notices.js'

const delta = (seq: number, text: string): StoredEvent =>
  ({ seq, at: '2026-12-03T00:00:00.000Z', type: 'item.delta', itemId: 'i', delta: text }) as StoredEvent

describe("noticesOf: one commit's events of an owner as NOTIFY payloads", () => {
  it('one event alone is a notice of the format before (n, o, s, e)', () => {
    const [payload, ...rest] = noticesOf('node_a', 'run_1', [delta(7, 'x')])
    expect(rest).toEqual([])
    expect(JSON.parse(payload!)).toEqual({ n: 'node_a', o: 'run_1', s: 7, e: delta(7, 'x') })
  })

  it('many events go in as few notices as fit in 7000 bytes (multi-byte text counted in bytes), in order, a too large one as a pointer', () => {
    const events = Array.from({ length: 400 }, (_, i) =>
      delta(i + 1, i === 200 ? 'é'.repeat(4000) : `ü${i}`.repeat(20)),
    )
    const payloads = noticesOf('node_a', 'ses_1', events)
    for (const p of payloads) expect(Buffer.byteLength(p)).toBeLessThanOrEqual(7000)
    const notices = payloads.map((p) => JSON.parse(p) as Notice)
    // each notice's events f..s, in order, cover every event once
    const inline = notices.flatMap((n) => (n.e ? [...(n.b ?? []), n.e] : []))
    expect(inline).toEqual(events.filter((e) => e.seq !== 201))
    expect(notices.flatMap((n) => [n.f ?? n.s, n.s])).toEqual(
      notices.flatMap((n) => [n.e ? (n.b?.[0] ?? n.e).seq : n.s, n.s]),
    )
    expect(notices.find((n) => !n.e)).toEqual({ n: 'node_a', o: 'ses_1', s: 201 })
    expect(notices.length).toBeLessThan(20)
  })
})
