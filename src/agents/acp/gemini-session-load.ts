import { access, open, readdir, rename } from 'node:fs/promises'
import path from 'node:path'
import type { AcpOpenOptions } from './open-session.js'

/*
 * Gemini CLI's ACP `session/load` (0.61.0; gemini-cli issues #28693, #28775) has two faults the gateway works
 * around, each where it loads a gemini session (an idle unload, a gateway restart, a process that died):
 *
 * - It first starts a fresh chat recording for the id, under the file name `session-<this UTC minute>-<id's first 8
 *   characters>.jsonl`, then reads the session's record. When the load comes in the minute the record was started in
 *   (the minute of its `session/new`), that name is the record's own: the fresh start appends a header and a `$set`
 *   of its messages that empties it, the load fails ("No previous sessions found for this project") and the
 *   conversation is gone for good. geminiRecordKept renames such a record to the previous minute's name first (gemini
 *   reads every `session-*` file of the project and finds the record by the id in it; it goes on recording into it).
 * - It answers the load before it replays the history (`session.streamHistory`, not awaited): the replayed updates
 *   arrived after the answer, in the next turn (its final response began with the earlier turn's answer). A request
 *   sent once the answer came is answered after the replay (gemini writes the replay before it reads its input
 *   again, and answers in order): open-session.ts sends one (`replaysAfterAnswer`) and the session listens after it.
 */

/** What loading a gemini session takes besides the load: its record kept, its replay waited for. */
export function geminiLoadOptions(home: string): Pick<AcpOpenOptions, 'beforeLoad' | 'replaysAfterAnswer'> {
  return { beforeLoad: (loadId) => geminiRecordKept(home, loadId), replaysAfterAnswer: true }
}

/** A minute as Gemini CLI stamps its chat files: `2026-12-06T16-05` (UTC). */
const minuteStamp = (at: Date) => at.toISOString().slice(0, 16).replace(/:/g, '-')

/**
 * The record of `sessionId` in the gemini home (`<home>/.gemini/tmp/<project>/chats/`) whose file is stamped with
 * this minute, renamed to the previous minute's stamp (unless one has that name), so that a `session/load` now does
 * not write into it. Only a file whose first line names the session is renamed; anything unreadable is left alone.
 */
export async function geminiRecordKept(home: string, sessionId: string, now = new Date()): Promise<void> {
  const short = sessionId.slice(0, 8)
  const name = (at: Date) => `session-${minuteStamp(at)}-${short}.jsonl`
  const projects = path.join(home, '.gemini', 'tmp')
  const dirs = await readdir(projects).catch(() => [])
  for (const dir of dirs) {
    const chats = path.join(projects, dir, 'chats')
    const file = path.join(chats, name(now))
    if (!(await namesSession(file, sessionId))) continue
    const earlier = path.join(chats, name(new Date(now.getTime() - 60_000)))
    if (await exists(earlier)) continue
    await rename(file, earlier).catch(() => {})
  }
}

/** Whether `file` begins with the record of `sessionId` (its first 512 bytes hold the id). */
async function namesSession(file: string, sessionId: string): Promise<boolean> {
  const handle = await open(file, 'r').catch(() => undefined)
  if (!handle) return false
  try {
    const head = Buffer.alloc(512)
    const { bytesRead } = await handle.read(head, 0, head.length, 0)
    return head.subarray(0, bytesRead).toString('utf8').includes(`"sessionId":"${sessionId}"`)
  } catch {
    return false
  } finally {
    await handle.close().catch(() => {})
  }
}

const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  )
