/**
 * The notifications codex app-server is asked not to send (`initialize`'s `optOutNotificationMethods`): ones
 * no part of the gateway reads and no client could learn anything from. Each came once a turn or once a thread,
 * and cost codex its serialising, the pipe, the gateway its parse (docs/benchmarks.md, "Issue 14, session 20").
 */
export const optedOutNotifications: readonly string[] = [
  // the account's rate limits, once per model request; they name no thread, so no session ever received them
  'account/rateLimits/updated',
  // codex's own UI bookkeeping (which turn its user has not read yet, a new revision every turn): it was
  // stored as an `agent.raw` event in every turn, an event and its insert each time
  'thread/readState/changed',
  // the whole thread once more after thread/start and thread/fork answered with it; it names the thread only
  // inside that object, so the host never routed it to a session
  'thread/started',
  // the thread's status, twice a turn (active, idle) and on every load and unload: the gateway's session state
  // is its own (the manager's), so the driver's `session.status` from it was dropped unread; an unloaded thread
  // is known by `thread/closed` / `thread/archived`, which codex 0.169 sends with every `notLoaded`
  // (test/integration/app-server-client.test.ts)
  'thread/status/changed',
  // the thread's settings after a turn/start changed them: the gateway sends them (its session record is the
  // client's view), and after a thread started under codex's own `on-request` its first turn holds the sandbox
  // (held-sandbox.ts), which this told clients as the internal granular policy, stored raw in the turn
  'thread/settings/updated',
  // a model response's end, sent to threads started with `experimentalRawEvents` (escalated-calls.ts: the gateway
  // reads their `rawResponseItem/completed` only): it was stored as an `agent.raw` event after each model request
  'rawResponse/completed',
]
