import { describe, expect, it } from 'vitest'
import { checkTurnNeeds, needsOf, turnMethodFor } from '../../src/core/turn-call.js'

/**
 * How a forwarded turn names what it needs of its session's owner (core/turn-call.ts), so that a node of an older
 * version refuses it rather than misread it; the cluster's own refusals are in cluster-sessions.test.ts.
 */
describe("a forwarded turn's needs", () => {
  const text = { type: 'text', text: 'hi' } as const
  const file = { type: 'localImage', path: 'a.png' } as const
  const url = { type: 'image', url: 'data:image/png;base64,AA==' } as const

  it('text alone needs nothing and goes by session.turn, which every version answers', () => {
    expect(needsOf([text], {})).toEqual([])
    // an option left undefined is no option
    expect(needsOf([text, text], { approvalPolicy: undefined })).toEqual([])
    expect(turnMethodFor([])).toBe('session.turn')
  })

  it('options alone go by session.turnWithOptions (nodes of the version before image items take them)', () => {
    expect(needsOf([text], { approvalPolicy: 'never' })).toEqual(['options'])
    expect(turnMethodFor(['options'])).toBe('session.turnWithOptions')
  })

  it('image items of either kind need images and go by session.turnWith, with options or not', () => {
    expect(needsOf([text, file], {})).toEqual(['images'])
    expect(needsOf([url, file, url], {})).toEqual(['images'])
    expect(needsOf([url], { approvalPolicy: 'untrusted' })).toEqual(['options', 'images'])
    expect(turnMethodFor(['images'])).toBe('session.turnWith')
    expect(turnMethodFor(['options', 'images'])).toBe('session.turnWith')
  })

  it('the owner refuses a need it does not know (409, naming it), and needs that are not a list of names (400)', () => {
    expect(() => checkTurnNeeds('ses_1', 'node-a', ['options', 'images'])).not.toThrow()
    expect(() => checkTurnNeeds('ses_1', 'node-a', ['images', 'mentions'])).toThrow(
      expect.objectContaining({
        code: 'conflict',
        message: expect.stringContaining('node node-a, which runs an older version'),
        details: { node: 'node-a', lacking: ['mentions'], retryAfterSeconds: 30 },
      }),
    )
    for (const bad of [undefined, 'images', [1]])
      expect(() => checkTurnNeeds('ses_1', 'node-a', bad)).toThrow(
        expect.objectContaining({ code: 'invalid_request' }),
      )
  })
})
