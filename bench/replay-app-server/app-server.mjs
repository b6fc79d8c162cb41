#!/usr/bin/env node
/**
 * A stand-in for `codex app-server` that replays one recorded turn (codex-0.169.0-turn.jsonl: the answers to
 * initialize, thread/start and turn/start and the turn's notifications, recorded from codex 0.169.0 against the
 * mock model) on every turn/start, with fresh turn and item ids. It spends next to no CPU, so a bench that drives
 * it (bench/turn-cpu.ts) measures the CPU of whoever drives it, the gateway or a direct client, without codex
 * competing for the cores. Notifications go out one per write, REPLAY_GAP_MS apart (default 1), as codex sends
 * them: each arrives on its own, not batched with the next. Each thread/start gets a thread id of its own, and a
 * turn/start's replay carries the thread id it names, so one process serves many sessions at once (as codex does).
 * Like codex, it leaves out the notifications `initialize` opted out of (`capabilities.optOutNotificationMethods`).
 *
 * Usage (as CODEX_PATH): app-server.mjs app-server [...ignored]; any other first argument prints a version.
 * Any other request is answered with an empty result. Plain Node, no dependencies.
 */
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'

if (process.argv[2] !== 'app-server') {
  console.log('codex-cli 0.169.0')
  process.exit(0)
}

const recorded = readFileSync(new URL('./codex-0.169.0-turn.jsonl', import.meta.url), 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line))
const answerTo = (id) => recorded.find((m) => m.id === id).result
const threadStarted = recorded.find((m) => m.method === 'thread/started')
const turnAnswer = answerTo(3)
const turnNotifications = recorded.slice(recorded.findIndex((m) => m.id === 3) + 1)
/** The recorded turn's own ids (the turn's and its items'), replaced by fresh ones on every replay. */
const turnIds = [
  turnAnswer.turn.id,
  ...new Set(turnNotifications.flatMap((m) => (m.params?.item?.id ? [m.params.item.id] : []))),
]
/** The recorded thread's id, replaced by the one a thread/start handed out. */
const recordedThreadId = answerTo(2).thread.id
const gapMs = Number(process.env.REPLAY_GAP_MS ?? 1)

/** The notification methods the client's `initialize` opted out of. */
let optedOut = new Set()
const wanted = (message) => !optedOut.has(message.method)

const send = (message) => process.stdout.write(`${JSON.stringify(message)}\n`)

/** `message` with the recorded thread's id replaced by `threadId`. */
const forThread = (message, threadId) =>
  JSON.parse(JSON.stringify(message).replaceAll(recordedThreadId, threadId))

function replayTurn(requestId, threadId = recordedThreadId) {
  const fresh = new Map([[recordedThreadId, threadId], ...turnIds.map((id) => [id, randomUUID()])])
  const renew = (message) => {
    let text = JSON.stringify(message)
    for (const [old, now] of fresh) text = text.replaceAll(old, now)
    return `${text}\n`
  }
  process.stdout.write(renew({ id: requestId, result: turnAnswer }))
  const notifications = turnNotifications.filter(wanted)
  let next = 0
  const tick = () => {
    process.stdout.write(renew(notifications[next++]))
    if (next < notifications.length) setTimeout(tick, gapMs)
  }
  setTimeout(tick, gapMs)
}

createInterface({ input: process.stdin })
  .on('line', (line) => {
    const message = JSON.parse(line)
    if (message.id === undefined) return
    if (message.method === 'initialize') {
      optedOut = new Set(message.params?.capabilities?.optOutNotificationMethods ?? [])
      send({ id: message.id, result: answerTo(1) })
    } else if (message.method === 'thread/start') {
      const threadId = randomUUID()
      send({ id: message.id, result: forThread(answerTo(2), threadId) })
      if (wanted(threadStarted)) send(forThread(threadStarted, threadId))
    } else if (message.method === 'turn/start') replayTurn(message.id, message.params?.threadId)
    else send({ id: message.id, result: {} })
  })
  .on('close', () => process.exit(0))
