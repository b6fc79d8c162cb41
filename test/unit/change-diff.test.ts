import { describe, expect, it } from 'vitest'
import { changeDiff } from '../../src/agents/codex-app-server/change-diff.js'

describe('changeDiff', () => {
  it("keeps an update's unified diff, and turns an added or deleted file's text into + or - lines", () => {
    const update = '@@ -1 +1 @@\n-old\n+new\n'
    expect(changeDiff('update', update)).toBe(update)
    expect(changeDiff('add', 'one\ntwo\n')).toBe('+one\n+two')
    expect(changeDiff('delete', 'gone')).toBe('-gone')
    expect(changeDiff('add', '')).toBeUndefined()
    expect(changeDiff('update', undefined)).toBeUndefined()
  })
})
