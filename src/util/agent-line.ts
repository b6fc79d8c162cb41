/**
 * The longest line (in UTF-16 chars) the gateway reads of an agent's output as one line: a JSON-RPC message of
 * codex app-server (codex-app-server/rpc.ts), an event of `codex exec --json` (codex/exec-json.ts), a line of a
 * run's output (process/lines.ts, process/line-splitter.ts). A longer one is cut into pieces of this size (so one
 * runaway line cannot exhaust memory), and a JSON message cut so is lost. What an agent echoes (codex's
 * `userMessage` item with a turn's data: URL images) must fit: the image cap (MAX_IMAGE_BYTES) is bounded by it,
 * and a codex turn's images together are (core/echoed-input.ts). codex app-server's answers that carry a thread's
 * history are read longer, up to CODEX_HISTORY_MAX_BYTES (codex-app-server/history-answers.ts); any answer past
 * its limit fails its request at once.
 */
export const agentLineChars = 8 * 1024 * 1024

/** What a JSON line carrying a turn's input holds besides it: the JSON-RPC envelope, ids, a data: URL's head. */
export const agentLineEnvelopeChars = 64 * 1024

/**
 * What the line of an agent's echo of a turn's input (codex's `userMessage` item) holds besides the items, each
 * counted as its JSON (core/echoed-input.ts): the JSON-RPC envelope, its method, ids (a few hundred chars). Before,
 * the echo check kept agentLineEnvelopeChars for it too, while counting each item's own JSON and data: URL head:
 * an image of the ceiling (maxImageBytesCeiling) was refused as a data: URL, however short the turn's text.
 */
export const agentLineWrapperChars = 4 * 1024
