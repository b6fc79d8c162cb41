import { describe, expect, it } from 'vitest'
import { checkDeclaredNeeds, checkTurnNeeds, needsOf, turnMethodFor } from '../../src/core/turn-call.js'

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

  it("a turn id chosen by its caller (an Idempotency-Key's) needs turnId and goes by session.turnWith: an older node refuses it", () => {
    expect(needsOf([text], {}, 'turn_1')).toEqual(['turnId'])
    expect(needsOf([file], { approvalPolicy: 'never' }, 'turn_1')).toEqual(['options', 'images', 'turnId'])
    expect(turnMethodFor(['turnId'])).toBe('session.turnWith')
    expect(turnMethodFor(['options', 'turnId'])).toBe('session.turnWith')
    expect(() => checkTurnNeeds('ses_1', 'node-a', ['turnId'])).not.toThrow()
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

  it('the owner derives the needs from the input and options itself: what its call did not declare is refused (409, naming it), declaring more passes', () => {
    const check = (method: string, declared: string[], input: unknown, options?: unknown) => () =>
      checkDeclaredNeeds('ses_1', 'node-a', method, declared, input, options)
    expect(check('session.turn', [], [text, text])).not.toThrow()
    expect(check('session.turnWithOptions', ['options'], [text], { approvalPolicy: 'never' })).not.toThrow()
    expect(check('session.turnWith', ['images'], [text, file, url])).not.toThrow()
    // more than the turn needs: only a method fewer old nodes answer
    expect(check('session.turnWith', ['options', 'images'], [text], {})).not.toThrow()
    // an option left undefined is no option
    expect(check('session.turn', [], [text], { approvalPolicy: undefined })).not.toThrow()

    // images under-declared: a node lacking them would have taken the image items for text
    expect(check('session.turnWith', ['options'], [text, url], { approvalPolicy: 'never' })).toThrow(
      expect.objectContaining({
        code: 'conflict',
        message: expect.stringMatching(
          /session ses_1's turn came to node node-a by session.turnWith declaring only \[options\], but it has image input items/,
        ),
        details: {
          node: 'node-a',
          method: 'session.turnWith',
          declared: ['options'],
          undeclared: ['images'],
          retryAfterSeconds: 30,
        },
      }),
    )
    expect(check('session.turn', [], [text, file])).toThrow(
      expect.objectContaining({
        code: 'conflict',
        details: expect.objectContaining({ undeclared: ['images'] }),
      }),
    )
    expect(check('session.turn', [], [text], { approvalPolicy: 'never' })).toThrow(
      expect.objectContaining({
        message: expect.stringContaining("declaring no needs, but it has a turn's options"),
        details: expect.objectContaining({ undeclared: ['options'] }),
      }),
    )
    // what this version cannot read at all (a newer node's item type or option it did not declare): refused, not
    // dropped (a turn runs on its text alone otherwise)
    expect(
      check('session.turnWith', ['images'], [text, file, { type: 'audio', path: 'a.wav' }], {
        effort: 'high',
      }),
    ).toThrow(
      expect.objectContaining({
        code: 'conflict',
        message: expect.stringContaining('input item type "audio" and turn option "effort"'),
        details: expect.objectContaining({
          undeclared: ['options', 'input item type "audio"', 'turn option "effort"'],
        }),
      }),
    )
    // another node's input is data: not a list of typed items, or options that are not an object, is a 400
    for (const [input, options] of [
      ['hi', undefined],
      [[{ text: 'hi' }], undefined],
      [[text], 'never'],
      [[text], null],
    ])
      expect(check('session.turn', [], input, options)).toThrow(
        expect.objectContaining({ code: 'invalid_request' }),
      )
  })
})
