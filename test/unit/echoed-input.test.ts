import { describe, expect, it } from 'vitest'
import type { TurnInput } from '../../src/agents/session.js'
import { checkEchoedInput, echoedChars } from '../../src/core/echoed-input.js'
import { AppError } from '../../src/protocol/errors.js'
import { agentLineChars, agentLineWrapperChars } from '../../src/util/agent-line.js'
import { defaultMaxImageBytes, maxImageBytesCeiling } from '../../src/util/image-type.js'

/** A data: URL of `bytes` bytes (its base64 only: nothing here reads the image). */
const url = (bytes: number) => `data:image/png;base64,${'A'.repeat(Math.ceil(bytes / 3) * 4)}`
const room = agentLineChars - agentLineWrapperChars
const refusal = (input: TurnInput) => {
  try {
    checkEchoedInput(input, 'codex')
  } catch (err) {
    return err as AppError
  }
  return undefined
}

describe('checkEchoedInput: a codex turn whose input, echoed on one line, cannot fit it', () => {
  it('refuses two images of the default cap together (each fits alone), naming them; takes each alone', () => {
    const input: TurnInput = [
      { type: 'text', text: 'compare these' },
      { type: 'image', url: url(defaultMaxImageBytes) },
      { type: 'image', url: url(defaultMaxImageBytes) },
    ]
    const err = refusal(input)
    expect(err).toBeInstanceOf(AppError)
    expect(err).toMatchObject({
      code: 'invalid_request',
      details: { items: ['input[1]', 'input[2]'], chars: echoedChars(input), limit: room },
    })
    expect(err?.message).toBe(
      `input[1], input[2]: agent codex writes a turn's input back on one line of at most ${room} chars (its text, its images as data: URLs), and this input takes ${echoedChars(input)}: send less a turn (fewer or smaller images, shorter text), or images as localImage files (echoed as their paths)`,
    )
    expect(refusal(input.slice(0, 2))).toBeUndefined()
    expect(refusal([input[0]!, input[2]!])).toBeUndefined()
  })

  it('counts each item as its echo carries it: a localImage by its path, text JSON-escaped; the limit is exact', () => {
    expect(echoedChars([{ type: 'localImage', path: 'shots/a.png' }])).toBe(
      JSON.stringify({ type: 'localImage', path: 'shots/a.png' }).length,
    )
    expect(echoedChars([{ type: 'text', text: '"\n' }])).toBe('{"type":"text","text":"\\"\\n"}'.length)
    // many localImages: paths, far under the line
    expect(refusal(Array(100).fill({ type: 'localImage', path: 'shots/screen.png' }))).toBeUndefined()
    const image = { type: 'image', url: url(2.5 * 1024 * 1024) } as const
    const text = (chars: number) => ({ type: 'text', text: 'x'.repeat(chars) }) as const
    const fill = room - echoedChars([image, image, text(0)])
    expect(refusal([image, image, text(fill)])).toBeUndefined()
    expect(refusal([image, image, text(fill + 1)])?.details).toMatchObject({
      items: ['input[0]', 'input[1]', 'input[2]'],
    })
    // the items that take the room are named: a short text is not
    expect(refusal([text(10), image, image, image])?.details).toMatchObject({
      items: ['input[1]', 'input[2]', 'input[3]'],
    })
  })

  it('takes an image of the ceiling (MAX_IMAGE_BYTES at its most) as a data: URL, with text of up to 60 KB', () => {
    // before: refused whatever the text (the line's envelope was kept twice: for the line, and in each item's JSON)
    const image = { type: 'image', url: url(maxImageBytesCeiling) } as const
    expect(refusal([image])).toBeUndefined()
    expect(refusal([{ type: 'text', text: 'x'.repeat(60_000) }, image])).toBeUndefined()
    expect(refusal([{ type: 'text', text: 'x'.repeat(64_000) }, image])).toBeInstanceOf(AppError)
  })
})
