import { createReadStream, createWriteStream } from 'node:fs'
import { open, stat } from 'node:fs/promises'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { conversationFile, isId } from './conversation-file.js'

/** How much of a conversation a copy holds at most (each bound that is given; complete lines only, always). */
export interface ConversationCut {
  /**
   * Its first `bytes` (the file as it was when a turn of it started: what that turn's process writes later is
   * not copied).
   */
  bytes?: number
  /**
   * The lines Claude wrote before this time (epoch milliseconds; a fork point's: when the first turn after it
   * started): those before the first line whose `timestamp` is at or after it (lines without one go with those
   * before them). Not a count of prompts: a turn whose process was killed before Claude wrote its prompt left
   * none, and a `--fork-session` copy holds more of its parent's than its fork point.
   */
  before?: number
}

/** Bytes of Claude Code's conversation `conversationId` of a session in `cwd` now; null when it is not on disk. */
export async function claudeConversationBytes(
  serverEnv: NodeJS.ProcessEnv,
  cwd: string,
  conversationId: string,
): Promise<number | null> {
  const file = await conversationFile(serverEnv, cwd, conversationId)
  return file
    ? stat(file).then(
        (s) => s.size,
        () => null,
      )
    : null
}

/**
 * Copies Claude Code's conversation `from` (of a session in `cwd`) to a new conversation `to` beside it, up to
 * `cut`: a fork holds its parent's conversation at the fork point, whatever the parent does later (`claude
 * --resume <to>` continues the copy; the entries copied keep naming `from`, those Claude adds name `to`). Only
 * complete lines are copied: Claude may be writing the last one (a turn of `from` running), and a line cut in
 * two would be the copy's last. False when `from` is not on disk (never saved, or gone) or nothing of it is
 * copied (no complete line); never overwrites a conversation `to`.
 */
export async function copyClaudeConversation(
  serverEnv: NodeJS.ProcessEnv,
  cwd: string,
  from: string,
  to: string,
  cut: ConversationCut = {},
): Promise<boolean> {
  const file = isId(to) ? await conversationFile(serverEnv, cwd, from) : null
  if (!file) return false
  const end = await copiedBytes(file, cut).catch(() => 0)
  if (end === 0) return false
  const target = path.join(path.dirname(file), `${to}.jsonl`)
  await pipeline(createReadStream(file, { end: end - 1 }), createWriteStream(target, { flags: 'wx' }))
  return true
}

/** How many bytes of `file` a copy up to `cut` holds: up to the end of a complete line. */
async function copiedBytes(file: string, cut: ConversationCut): Promise<number> {
  const size = (await stat(file)).size
  const limit = Math.min(cut.bytes ?? size, size)
  return cut.before === undefined ? lastLineEnd(file, limit) : endBefore(file, limit, cut.before)
}

const backChunk = 64 * 1024

/** The end of the last complete line of `file`'s first `limit` bytes (after its `\n`); 0 when there is none. */
async function lastLineEnd(file: string, limit: number): Promise<number> {
  const handle = await open(file, 'r')
  try {
    const buffer = Buffer.alloc(backChunk)
    for (let hi = limit; hi > 0; ) {
      const lo = Math.max(0, hi - backChunk)
      const { bytesRead } = await handle.read(buffer, 0, hi - lo, lo)
      const at = buffer.subarray(0, bytesRead).lastIndexOf(0x0a)
      if (at >= 0) return lo + at + 1
      hi = lo
    }
    return 0
  } finally {
    await handle.close()
  }
}

/**
 * The end of the complete lines of `file`'s first `limit` bytes that come before its first line written at or
 * after `before` (its top-level `timestamp`: Claude writes one on every entry of a turn, its queue entries
 * first, and none on its own notes: `last-prompt`, `mode`); all of them when there is none.
 */
async function endBefore(file: string, limit: number, before: number): Promise<number> {
  if (limit === 0) return 0
  let offset = 0
  /** The line read so far (a long one, an image's, spans many chunks: joined once, at its end). */
  let pending: Buffer[] = []
  for await (const chunk of createReadStream(file, { end: limit - 1 }) as AsyncIterable<Buffer>) {
    let from = 0
    for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, from)) {
      pending.push(chunk.subarray(from, nl))
      const line = pending.length === 1 ? pending[0]! : Buffer.concat(pending)
      pending = []
      if ((writtenAt(line) ?? -Infinity) >= before) return offset
      offset += line.length + 1
      from = nl + 1
    }
    if (from < chunk.length) pending.push(chunk.subarray(from))
  }
  return offset
}

/** When Claude wrote a line of its conversation (its entry's `timestamp`, epoch ms); undefined when it says none. */
function writtenAt(line: Buffer): number | undefined {
  // Claude Code writes JSON without spaces; a quote inside a string is escaped, so this is a key
  if (!line.includes('"timestamp":"')) return undefined
  const at = parsed(line)?.timestamp
  const ms = typeof at === 'string' ? Date.parse(at) : Number.NaN
  return Number.isNaN(ms) ? undefined : ms
}

/** A line's entry; undefined when it is no JSON object. */
function parsed(line: Buffer): Record<string, unknown> | undefined {
  try {
    const entry: unknown = JSON.parse(line.toString('utf8'))
    return entry && typeof entry === 'object' ? (entry as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}
