import { readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { agentEvent, storedEventMeta } from '../../src/protocol/events.js'
import { item } from '../../src/protocol/items.js'

/**
 * docs/events.md is the event reference: every `### <event type>` and `### item: <item type>` section has one
 * `json` example, each example is a valid stored event, and the documented types are exactly the schema's.
 */
const docFile = path.resolve(import.meta.dirname, '../../docs/events.md')

interface Example {
  /** The `###` heading the block is under, or null outside any. */
  heading: string | null
  json: string
  line: number
}

function extractExamples(markdown: string): { headings: string[]; examples: Example[] } {
  const headings: string[] = []
  const examples: Example[] = []
  let heading: string | null = null
  let block: string[] | null = null
  let start = 0
  markdown.split('\n').forEach((line, i) => {
    if (block) {
      if (line.trim() === '```') {
        examples.push({ heading, json: block.join('\n'), line: start })
        block = null
      } else block.push(line)
    } else if (line.startsWith('### ')) {
      heading = line.slice(4).trim()
      headings.push(heading)
    } else if (line.startsWith('## ')) heading = null
    else if (line.trim() === '```json') {
      block = []
      start = i + 1
    }
  })
  return { headings, examples }
}

const { headings, examples } = extractExamples(readFileSync(docFile, 'utf8'))
const eventTypes = agentEvent.options.map((o) => o.shape.type.value)
const itemTypes = item.options.map((o) => o.shape.type.value)
const itemPrefix = 'item: '
const documentedEvents = headings.filter((h) => !h.startsWith(itemPrefix))
const documentedItems = headings
  .filter((h) => h.startsWith(itemPrefix))
  .map((h) => h.slice(itemPrefix.length))

describe('docs/events.md', () => {
  it('documents every event type of the agentEvent union, and nothing else', () => {
    expect([...documentedEvents].sort()).toEqual([...eventTypes].sort())
  })

  it('documents every item type of the item union, and nothing else', () => {
    expect([...documentedItems].sort()).toEqual([...itemTypes].sort())
  })

  it('has exactly one json example under each type heading', () => {
    for (const h of headings)
      expect(
        examples.filter((e) => e.heading === h).length,
        `### ${h} should have exactly one json example`,
      ).toBe(1)
    expect(
      examples.filter((e) => e.heading === null).map((e) => `docs/events.md:${e.line}`),
      'json blocks outside a ### section',
    ).toEqual([])
  })

  for (const example of examples) {
    it(`example under "### ${example.heading}" (docs/events.md:${example.line}) is a valid stored event`, () => {
      const where = `docs/events.md:${example.line} (### ${example.heading})`
      let value: Record<string, unknown>
      try {
        value = JSON.parse(example.json) as Record<string, unknown>
      } catch (err) {
        throw new Error(`${where}: not JSON: ${(err as Error).message}\n${example.json}`)
      }
      const { seq, at, runId, sessionId, ...event } = value
      const meta = storedEventMeta.safeParse({ seq, at, runId, sessionId })
      expect(meta.success, `${where}: seq/at/runId: ${meta.error ? z.prettifyError(meta.error) : ''}`).toBe(
        true,
      )
      expect(runId ?? sessionId, `${where}: examples carry a runId or a sessionId`).toEqual(
        expect.any(String),
      )

      const parsed = agentEvent.safeParse(event)
      if (!parsed.success)
        throw new Error(`${where}: invalid event ${JSON.stringify(event)}\n${z.prettifyError(parsed.error)}`)
      // zod strips unknown keys: a misspelt optional field would vanish here.
      expect(parsed.data, `${where}: fields the schema does not know`).toEqual(event)

      const heading = example.heading ?? ''
      if (heading.startsWith(itemPrefix)) {
        expect(['item.started', 'item.updated', 'item.completed'], where).toContain(parsed.data.type)
        const carried = 'item' in parsed.data ? parsed.data.item.type : undefined
        expect(carried, where).toBe(heading.slice(itemPrefix.length))
      } else expect(parsed.data.type, where).toBe(heading)
    })
  }
})
