/**
 * The app-server methods whose answer may hold a thread's history (its turns with their items: data: URL images,
 * command outputs), on one JSON line that outgrows the 8 MiB the gateway reads of an agent's line (agent-line.ts).
 * Their answers are read up to CODEX_HISTORY_MAX_BYTES instead; an answer longer than its limit fails its request
 * at once (rpc.ts), never leaving it to time out.
 */
export const historyAnswers: ReadonlySet<string> = new Set([
  'thread/read',
  'thread/resume',
  'thread/fork',
  'thread/rollback',
  'thread/turns/list',
  'thread/items/list',
])

export const defaultHistoryMaxBytes = 64 * 1024 * 1024
/** Well below V8's longest string (about 512 Mi characters), which the line is read into. */
export const maxHistoryBytes = 256 * 1024 * 1024

/** What an answer too long for the gateway tells to do about it. */
export const overlongHint =
  "raise CODEX_HISTORY_MAX_BYTES, or ask for the thread without its turns (the session's turns and events keep them)"
