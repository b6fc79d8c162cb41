import { randomUUID } from 'node:crypto'
import http2 from 'node:http2'
import { createInterface } from 'node:readline'
import { parseApiTokens } from '../../config/api-tokens.js'
import { encodeFrame, FrameDecoder } from './agent-stream-codec.js'
import { streamStatus } from './agent-stream-frames.js'

interface Options {
  /** Server URL: `CODEX_API_URL` (seed 004), else `AGENT_GATEWAY_URL`, else http://127.0.0.1:$PORT (8000). */
  url: string
  token?: string
  sessionId: string
  prompt?: string
  input: NodeJS.ReadableStream
  output: NodeJS.WritableStream
}

type Frame = Record<string, unknown> & { type: string }

/**
 * `agent-gateway stream [sessionId] [prompt]`: seed 004's demo client. One HTTP/2 stream for the whole
 * conversation (the original opened one per frame, so its `approve` reached a stream without a session).
 * Prints the `output_text` of items, asks "Approve? (yes/no)" on a command prompt, and knows /cancel,
 * /quit and /exit. The input ending (a pipe, Ctrl-D, `</dev/null`) ends the conversation once the messages sent
 * have their answers; a command prompt that comes after it is denied (nobody is left to answer it).
 * Resolves when the stream ended, with the exit code: 1 when the gateway could not be reached.
 */
export async function runStreamClient(opts: Options): Promise<number> {
  const print = (line: string) => opts.output.write(`${line}\n`)
  const session = http2.connect(opts.url)
  let unreachable = false
  session.on('error', (err) => {
    unreachable ||= (err as NodeJS.ErrnoException).syscall === 'connect'
    print(
      unreachable
        ? `cannot reach the gateway at ${opts.url} (${err.message}): start it (npm start), or point AGENT_GATEWAY_URL at it`
        : `connection error: ${err.message}`,
    )
  })
  const stream = session.request({
    ':method': 'POST',
    ':path': '/agent/stream',
    'content-type': 'application/x-ndjson',
    ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
  })
  const turns = unansweredMessages()
  const send = (frame: Record<string, unknown> & { type: string }) => {
    if (!stream.writable) return
    turns.sent(frame.type)
    stream.write(encodeFrame('ndjson', { id: randomUUID(), ...frame }))
  }
  const rl = createInterface({ input: opts.input, terminal: false })
  let asking: ((answer: string) => void) | undefined
  let inputEnded = false
  const decoder = new FrameDecoder('ndjson', 16 * 1024 * 1024)
  const endOnceAnswered = () => {
    if (inputEnded && turns.count === 0 && stream.writable) stream.end()
  }
  const refuse = () => {
    print('no input left to answer: denied')
    asking?.('no')
    asking = undefined
  }

  const show = (f: Frame) => {
    if (f.type === 'item') {
      const item = f.responseItem as { type: string; content?: { type: string; text?: string }[] }
      for (const part of item.content ?? []) if (part.type === 'output_text') print(part.text ?? '')
    } else if (f.type === 'status') print(`[status] ${f.message}`)
    else if (f.type === 'error') print(`[error${f.code ? ` ${f.code}` : ''}] ${f.message}`)
    else if (f.type === 'terminate') print(`[terminate] ${f.reason}`)
    else if (f.type === 'command_prompt') {
      print(`The agent wants to run: ${(f.command as string[]).join(' ')}`)
      const patch = (f.applyPatch as { patch?: string } | undefined)?.patch
      if (patch) print(patch)
      print('Approve? (yes/no)')
      asking = (answer) => {
        const allow = /^y(es)?$/i.test(answer.trim())
        send({
          type: 'approve',
          sessionId: opts.sessionId,
          commandId: f.commandId,
          decision: allow ? 'allow' : 'deny',
        })
      }
      if (inputEnded) refuse()
    }
  }
  stream.on('data', (chunk: Buffer) => {
    for (const value of decoder.push(chunk)) {
      show(value as Frame)
      turns.saw(value as Frame)
    }
    endOnceAnswered()
  })
  const ended = new Promise<void>((resolve) => {
    stream.on('close', () => {
      rl.close()
      session.close()
      resolve()
    })
    stream.on('error', (err) => {
      // a refused connection cancels the stream first; the session's error says what to do about it
      const cause = (err as { cause?: NodeJS.ErrnoException }).cause
      if (!unreachable && cause?.syscall !== 'connect') print(`stream error: ${err.message}`)
    })
  })

  const message = (content: string) => send({ type: 'user_message', sessionId: opts.sessionId, content })
  if (opts.prompt) message(opts.prompt)
  print(`session ${opts.sessionId} on ${opts.url}; type a message, /cancel, /quit or /exit`)
  rl.on('line', (line) => {
    const text = line.trim()
    if (asking) {
      const answer = asking
      asking = undefined
      answer(text)
    } else if (text === '/cancel') send({ type: 'cancel', sessionId: opts.sessionId })
    else if (text === '/quit' || text === '/exit') stream.end()
    else if (text) message(text)
  })
  rl.on('close', () => {
    inputEnded = true
    if (asking) refuse()
    endOnceAnswered()
  })
  await ended
  return unreachable ? 1 : 0
}

/**
 * How many `user_message`s the client sent that have no answer yet. Every turn ends in exactly one frame
 * (completed, interrupted, aborted, or AGENT_ERROR). A message the gateway refused before its turn began gets a
 * FRAME_PROCESSING_ERROR instead: counted as its answer when the last frame sent was a message (an `approve`
 * may get one too, and the gateway does not say which frame an error is about).
 */
function unansweredMessages() {
  const turnEnds: string[] = [streamStatus.completed, streamStatus.aborted, 'Agent run interrupted.']
  let lastSent = ''
  const state = {
    count: 0,
    sent(frameType: string) {
      lastSent = frameType
      if (frameType === 'user_message') state.count++
    },
    saw(f: Frame) {
      const ended =
        (f.type === 'status' && turnEnds.includes(f.message as string)) ||
        (f.type === 'error' && f.code === 'AGENT_ERROR') ||
        (f.type === 'error' && f.code === 'FRAME_PROCESSING_ERROR' && lastSent === 'user_message')
      if (ended && state.count > 0) state.count--
    },
  }
  return state
}

/** Reads the demo client's arguments and environment. */
export function streamClientOptions(
  argv: string[],
  env: NodeJS.ProcessEnv,
): Omit<Options, 'input' | 'output'> {
  const [sessionId, ...words] = argv
  const token = env.AGENT_GATEWAY_TOKEN ?? firstApiToken(env.API_TOKENS)
  return {
    url: env.CODEX_API_URL ?? env.AGENT_GATEWAY_URL ?? `http://127.0.0.1:${env.PORT || 8000}`,
    sessionId: sessionId ?? `demo-${randomUUID()}`,
    ...(words.length ? { prompt: words.join(' ') } : {}),
    ...(token ? { token } : {}),
  }
}

/** The secret of API_TOKENS' first entry as the server reads it (`name:token:scopes` sends `token`). */
function firstApiToken(apiTokens: string | undefined): string | undefined {
  const first = apiTokens
    ?.split(',')
    .map((entry) => entry.trim())
    .find(Boolean)
  if (!first) return undefined
  try {
    return parseApiTokens([first])[0]?.token
  } catch {
    return undefined // a malformed entry: the server refuses to start with it anyway
  }
}
