import { afterEach, describe, expect, it, vi } from 'vitest'
import { clientFrame, parseClientFrame } from '../../src/http/compat/agent-stream-frames.js'

/** Frames as JSON.parse gives them: the plain per-turn message and its neighbours, valid and not. */
const values: unknown[] = [
  { type: 'user_message', content: 'hi' },
  { type: 'user_message', content: '' },
  { type: 'user_message', id: 'f-1', sessionId: 's', content: 'hi' },
  { type: 'user_message', sessionId: 'x'.repeat(200), content: 'hi' },
  { type: 'user_message', sessionId: 'é'.repeat(200), content: 'hi' },
  { type: 'user_message', sessionId: 'x'.repeat(201), content: 'hi' },
  { type: 'user_message', sessionId: '', content: 'hi' },
  { type: 'user_message', sessionId: 'a\u0000b', content: 'hi' },
  { type: 'user_message', sessionId: 'line\nbreak', content: 'hi' },
  { type: 'user_message', sessionId: 'del\u007f', content: 'hi' },
  { type: 'user_message', sessionId: 'tab\u0009', content: 'hi' },
  { type: 'user_message', sessionId: 'nbsp\u00a0ok', content: 'hi' },
  { type: 'user_message', sessionId: 7, content: 'hi' },
  { type: 'user_message', id: 7, content: 'hi' },
  { type: 'user_message', id: null, content: 'hi' },
  { type: 'user_message', sessionId: null, content: 'hi' },
  { type: 'user_message', content: 5 },
  { type: 'user_message' },
  { type: 'user_message', content: 'hi', extra: 1 },
  { type: 'user_message', content: 'hi', imagePaths: ['a.png'] },
  { type: 'user_message', content: 'hi', imagePaths: 'a.png' },
  { type: 'user_message', content: 'hi', configOverrides: { approvalPolicy: 'auto-edit' } },
  { type: 'user_message', content: 'hi', configOverrides: { approvalPolicy: 'never' } },
  JSON.parse('{"type":"user_message","content":"hi","__proto__":{"x":1}}'),
  { type: 'approve', sessionId: 's', commandId: 'c', decision: 'allow' },
  { type: 'cancel', sessionId: 's' },
  { type: 'cancel' },
  { type: 'other', content: 'hi' },
  { content: 'hi' },
  null,
  'user_message',
  ['user_message'],
  Object.assign(Object.create(null), { type: 'user_message', content: 'hi' }),
]

describe('parseClientFrame', () => {
  afterEach(() => vi.restoreAllMocks())

  it('accepts and refuses exactly what clientFrame (zod) does, with the same data', () => {
    for (const v of values) {
      const fast = parseClientFrame(v)
      const zod = clientFrame.safeParse(v)
      expect({ v, success: fast.success }).toEqual({ v, success: zod.success })
      if (zod.success) expect(fast.data).toEqual(zod.data)
      else expect(fast.error?.issues).toEqual(zod.error.issues)
    }
  })

  it('checks the plain per-turn user_message without zod; anything else with it', () => {
    const zod = vi.spyOn(clientFrame, 'safeParse')
    parseClientFrame({ type: 'user_message', id: 'f', sessionId: 's', content: 'hi' })
    expect(zod).not.toHaveBeenCalled()
    parseClientFrame({ type: 'user_message', content: 'hi', configOverrides: {} })
    parseClientFrame({ type: 'cancel', sessionId: 's' })
    expect(zod).toHaveBeenCalledTimes(2)
  })
})
