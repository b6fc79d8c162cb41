import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { geminiRecordKept } from '../../src/agents/acp/gemini-session-load.js'
import { tempDir } from '../support/temp.js'

/**
 * Gemini CLI's `session/load` writes a fresh record under `session-<this minute>-<id8>.jsonl` before it reads the
 * session's: a record stamped with the load's minute is renamed out of its way first (the real load against the
 * real CLI: session-idle-unload.test.ts). Real files, a chosen clock.
 */
describe('geminiRecordKept', () => {
  const id = '4961c26f-2536-45a1-b93b-b2117a76d453'
  const other = '4961c26f-0000-4000-8000-000000000000'
  const now = new Date('2026-12-06T16:07:39.386Z')
  const header = (sessionId: string) =>
    `${JSON.stringify({ sessionId, projectHash: 'h', startTime: '2026-12-06T16:07:32.890Z', kind: 'main' })}\n`

  const homeWith = (files: Record<string, string>) => {
    const home = tempDir('gemini-home-')
    const chats = path.join(home, '.gemini', 'tmp', 'workspace', 'chats')
    mkdirSync(chats, { recursive: true })
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(chats, name), text)
    return { home, chats, list: () => readdirSync(chats).sort() }
  }

  it("renames the session's record stamped with this minute to the previous minute's name, its content as it was", async () => {
    const { home, chats, list } = homeWith({ 'session-2026-12-06T16-07-4961c26f.jsonl': header(id) })
    await geminiRecordKept(home, id, now)
    expect(list()).toEqual(['session-2026-12-06T16-06-4961c26f.jsonl'])
    expect(readFileSync(path.join(chats, 'session-2026-12-06T16-06-4961c26f.jsonl'), 'utf8')).toBe(header(id))
  })

  it('leaves alone a record of another minute, one of another session with the same prefix, and one the previous name has', async () => {
    const earlier = homeWith({ 'session-2026-12-06T16-05-4961c26f.jsonl': header(id) })
    await geminiRecordKept(earlier.home, id, now)
    expect(earlier.list()).toEqual(['session-2026-12-06T16-05-4961c26f.jsonl'])

    const another = homeWith({ 'session-2026-12-06T16-07-4961c26f.jsonl': header(other) })
    await geminiRecordKept(another.home, id, now)
    expect(another.list()).toEqual(['session-2026-12-06T16-07-4961c26f.jsonl'])

    const taken = homeWith({
      'session-2026-12-06T16-06-4961c26f.jsonl': header(id),
      'session-2026-12-06T16-07-4961c26f.jsonl': header(id),
    })
    await geminiRecordKept(taken.home, id, now)
    expect(taken.list()).toEqual([
      'session-2026-12-06T16-06-4961c26f.jsonl',
      'session-2026-12-06T16-07-4961c26f.jsonl',
    ])
  })

  it('does nothing in a home without chats', async () => {
    await expect(geminiRecordKept(tempDir('gemini-home-'), id, now)).resolves.toBeUndefined()
  })
})
