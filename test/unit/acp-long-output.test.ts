import { readFileSync } from 'node:fs'
import { describe, expect, it, vi } from 'vitest'
import { UpdateMapper } from '../../src/agents/acp/update-mapper.js'
import { streamedText } from '../../src/protocol/item-delta.js'
import type { Item } from '../../src/protocol/items.js'

/**
 * A long command output through the ACP mapper. Comparing the output so far on every `_meta.terminal_output`
 * chunk made the mapping quadratic (4 MiB in 4 KiB chunks took 44 s; 8 MiB ran the gateway out of memory): the
 * longest text itemChange is handed is counted, so the test fails at the third chunk, not after minutes.
 */
const compared = vi.hoisted(() => ({ longest: 0 }))
vi.mock('../../src/protocol/item-delta.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/protocol/item-delta.js')>()
  return {
    ...original,
    itemChange: (before: Item, after: Item) => {
      const lengths = [before, after].map((i) => original.streamedText(i)?.length ?? 0)
      compared.longest = Math.max(compared.longest, ...lengths)
      return original.itemChange(before, after)
    },
  }
})

type Update = Record<string, unknown> & { toolCallId: string }
const recorded = JSON.parse(
  readFileSync(new URL('../fixtures/acp-wire/codex-acp-command.json', import.meta.url), 'utf8'),
) as { updates: Update[] }
const [toolCall, envChunk] = recorded.updates as [Update, Update]

describe('ACP: a long command output', () => {
  it('each chunk is its own delta without comparing the output so far; the whole arrives at the end', () => {
    const chunk = `${'x'.repeat(4095)}\n`
    const chunks = 2048 // 8 MiB
    const m = new UpdateMapper('acp:codex-acp', 't1')
    const withChunk = (data: string): Update => ({ ...envChunk, _meta: { terminal_output: { data } } })
    expect(m.map(toolCall).map((e) => e.type)).toEqual(['item.started'])
    let bytes = 0
    for (let i = 0; i < chunks; i++) {
      const events = m.map(withChunk(chunk))
      expect(events.map((e) => e.type)).toEqual(['item.delta'])
      bytes += events[0]?.type === 'item.delta' ? events[0].delta.length : 0
      expect(compared.longest, `chunk ${i}`).toBeLessThanOrEqual(chunk.length)
    }
    expect(bytes).toBe(chunks * chunk.length)
    const [completed] = m.finish()
    expect(completed?.type).toBe('item.completed')
    const item = completed?.type === 'item.completed' ? completed.item : undefined
    expect(item && streamedText(item)?.length).toBe(chunks * chunk.length)
    expect(item && streamedText(item)?.endsWith(chunk)).toBe(true)
  })
})
