import type { AgentDriver } from '../agents/driver.js'
import type { TurnInput } from '../agents/session.js'
import { AppError } from '../protocol/errors.js'
import { agentLineChars, agentLineWrapperChars } from '../util/agent-line.js'
import { echoedChars } from './echoed-input.js'

/**
 * A turn's input (or a run's prompt) that its agent cannot take whole, refused (400) when it is sent, for every
 * agent; BODY_LIMIT_BYTES (1 MiB by default) is the only other bound, and an operator may raise it:
 * - past the agent's own limit (AgentDriver.maxInputChars: codex's 1,048,576 characters of text, which failed the
 *   turn or run once codex had it: `Input exceeds the maximum length`);
 * - past the line the gateway reads of an agent (agentLineChars, 8 MiB, less its JSON-RPC wrapper): every agent's output is
 *   read as lines of at most that, and agents write the input back on one (codex's `userMessage` item, Gemini CLI's
 *   user `message` event, an ACP agent's history when a session is reopened); a longer line is cut and lost.
 * The images of a codex turn, echoed inline, are checked with it by echoed-input.ts.
 */
export function checkInputSize(input: TurnInput, agent: AgentDriver | undefined, what = 'input'): void {
  const text = textChars(input)
  if (agent?.maxInputChars !== undefined && text > agent.maxInputChars)
    throw new AppError(
      'invalid_request',
      `${what}: agent ${agent.id} takes at most ${agent.maxInputChars} characters of text a turn (its own limit) and this ${what} has ${text}: send less a turn`,
      { agent: agent.id, chars: text, limit: agent.maxInputChars },
    )
  const chars = echoedChars(input)
  const room = agentLineChars - agentLineWrapperChars
  if (chars > room)
    throw new AppError(
      'invalid_request',
      `${what}: takes ${chars} chars as JSON, and agents write a turn's input back on one line of their output, which the gateway reads up to ${room} chars (${agentLineChars} less the message around it): send less a turn`,
      { chars, limit: room },
    )
}

/** The characters (code points, as codex counts them) of the input's text items together. */
export function textChars(input: TurnInput): number {
  let n = 0
  for (const part of input)
    if (part.type === 'text') n += part.text.length - (part.text.match(surrogatePair)?.length ?? 0)
  return n
}

const surrogatePair = /[\uD800-\uDBFF][\uDC00-\uDFFF]/g

/** The smallest maxInputChars of `agents` (Infinity when none has one): a shorter text needs no agent's check. */
export const smallestInputLimit = (agents: readonly AgentDriver[]): number =>
  Math.min(Infinity, ...agents.map((a) => a.maxInputChars ?? Infinity))
