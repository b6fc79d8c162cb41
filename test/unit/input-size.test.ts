import { describe, expect, it } from 'vitest'
import type { AgentDriver } from '../../src/agents/driver.js'
import type { TurnInput } from '../../src/agents/session.js'
import { echoedChars } from '../../src/core/echoed-input.js'
import { checkInputSize, smallestInputLimit, textChars } from '../../src/core/input-size.js'
import { AppError } from '../../src/protocol/errors.js'
import { agentLineChars, agentLineWrapperChars } from '../../src/util/agent-line.js'

const codex = { id: 'codex', maxInputChars: 1_048_576 } as AgentDriver
const claude = { id: 'claude' } as AgentDriver
const room = agentLineChars - agentLineWrapperChars
const refusal = (input: TurnInput, agent?: AgentDriver) => {
  try {
    checkInputSize(input, agent)
  } catch (err) {
    return err as AppError
  }
  return undefined
}
const text = (chars: number, c = 'y') => ({ type: 'text', text: c.repeat(chars) }) as const

describe('checkInputSize: text its agent cannot take whole', () => {
  it("an agent's own limit is exact, in code points over all text items", () => {
    expect(refusal([text(1_048_576)], codex)).toBeUndefined()
    expect(refusal([text(1_048_577)], codex)).toBeInstanceOf(AppError)
    expect(
      refusal([text(500_000), { type: 'localImage', path: 'a.png' }, text(548_577)], codex)?.details,
    ).toEqual({
      agent: 'codex',
      chars: 1_048_577,
      limit: 1_048_576,
    })
    // an emoji is one character (two UTF-16 units)
    expect(textChars([text(3, '\u{1F600}')])).toBe(3)
    expect(refusal([text(1_048_576, '\u{1F600}')], codex)).toBeUndefined()
    // an agent without one: up to the line
    expect(refusal([text(1_048_577)], claude)).toBeUndefined()
  })

  it('the line the gateway reads of an agent bounds every agent, and a turn whose agent is not known', () => {
    const fill = room - echoedChars([text(0)])
    expect(refusal([text(fill)], claude)).toBeUndefined()
    expect(refusal([text(fill)])).toBeUndefined()
    const err = refusal([text(fill + 1)])
    expect(err).toMatchObject({ code: 'invalid_request', details: { chars: room + 1, limit: room } })
    // text that JSON escapes takes more room: a newline is two chars on the line
    expect(refusal([text(fill / 2 + 1, '\n')], claude)).toBeInstanceOf(AppError)
  })

  it('smallestInputLimit: the lowest of the agents that have one', () => {
    expect(smallestInputLimit([claude])).toBe(Infinity)
    expect(smallestInputLimit([claude, codex])).toBe(1_048_576)
  })
})
