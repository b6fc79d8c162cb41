import type { TurnInput } from '../agents/session.js'
import { AppError } from '../protocol/errors.js'
import { agentLineChars, agentLineEnvelopeChars, agentLineWrapperChars } from '../util/agent-line.js'

/**
 * A turn's input that its agent writes back on one line the gateway reads (SessionDriver.echoesInput): codex
 * app-server's `userMessage` item (its item/started and item/completed) carries the turn's text and each `image`
 * data: URL inline, a `localImage` by its path. That line must fit agentLineChars (8 MiB): a longer one is cut and
 * lost. Each image is capped (MAX_IMAGE_BYTES, at most maxImageBytesCeiling) to fit it alone, but two 5 MiB images
 * (the default cap) do not fit together: codex 0.171 ran such a turn, and the user message's item events were
 * silently dropped. Such a turn is a 400 naming its large items when it is sent instead (its text alone is checked for
 * every agent, against the agent's own limit and this line: input-size.ts).
 */

/** The chars of `input` as its echo carries them: each item as JSON (a path, not the image, for a localImage). */
export const echoedChars = (input: TurnInput): number =>
  input.reduce((sum, part) => sum + JSON.stringify(part).length, 0)

/** Refuses (400) a turn whose input, echoed by agent `agent` on one line, would not fit the line the gateway reads. */
export function checkEchoedInput(input: TurnInput, agent: string): void {
  const chars = echoedChars(input)
  const room = agentLineChars - agentLineWrapperChars
  if (chars <= room) return
  // the items that take the room (an image's data: URL, a long text), else all
  const large = input.flatMap((part, i) =>
    JSON.stringify(part).length >= agentLineEnvelopeChars ? [`input[${i}]`] : [],
  )
  const items = large.length ? large : input.map((_, i) => `input[${i}]`)
  throw new AppError(
    'invalid_request',
    `${items.join(', ')}: agent ${agent} writes a turn's input back on one line of at most ${room} chars (its text, its images as data: URLs), and this input takes ${chars}: send less a turn (fewer or smaller images, shorter text), or images as localImage files (echoed as their paths)`,
    { items, chars, limit: room },
  )
}
