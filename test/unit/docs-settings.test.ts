import { readFileSync } from 'node:fs'
import path from 'node:path'
import { expect, it } from 'vitest'
import { settingDocs } from '../../src/config/schema.js'

const root = path.resolve(import.meta.dirname, '../..')
const pages = ['docs/OPERATIONS.md', 'docs/SECURITY.md', 'docs/ARCHITECTURE.md', 'docs/agent-stream.md']

/** `(none)`, `` `none` `` and `none` are the same default; so are `8` and `` `8` ``. */
const plain = (shown: string) => shown.replaceAll(/[`()]/g, '').trim()

it("the settings tables of docs/ name settings that exist, at the schema's defaults", () => {
  const wrong: string[] = []
  for (const page of pages) {
    const text = readFileSync(path.join(root, page), 'utf8')
    // a table row that starts with a setting's name and its default: | `NAME` | default | what |
    for (const [, name, shown] of text.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \| ([^|]+) \|/gm)) {
      const doc = settingDocs[name as keyof typeof settingDocs]
      if (!doc) wrong.push(`${page}: ${name} is not a setting`)
      else if (plain(shown!) !== plain(doc.default))
        wrong.push(`${page}: ${name} shows ${shown!.trim()}, the schema ${doc.default}`)
    }
  }
  expect(wrong).toEqual([])
})
