#!/usr/bin/env node
/**
 * Holds K SSE connections to one URL open, for bench/event-relay.ts's memory measurement. It runs in its
 * own process so the client side of the connections does not count in the gateway's memory.
 *
 * Usage: node bench/sse-subscribers.mjs <url> <K> [stall]
 * With `stall`, each connection stops reading once it got its first event (a slow reader: its socket's buffers
 * fill, then the server's).
 * Prints one JSON line to stdout when every connection has received at least one event
 * ({"ready":K,"frames":n}), or {"error":...} on the first failure; before that, {"progress":n} each time another
 * `progressStep` (1,000) connections got their first event. Closing its stdin (or a line "close")
 * destroys every connection; it then prints {"closed":K,"frames":n} and exits 0.
 * A line "check <seq>" (reading subscribers): waits until every connection has seen the event `seq` (at most 60 s),
 * then prints {"checked":seq,"complete":n,"behind":n,"gaps":n,"wrongStart":n}: `complete` counts the connections
 * whose `id:`s ran from the URL's `after` + 1 through `seq` with none missing or repeated.
 */
import http from 'node:http'

const [url, rawK, mode] = process.argv.slice(2)
const stall = mode === 'stall'
const k = Number(rawK)
if (!url || !Number.isInteger(k) || k < 1) {
  process.stderr.write('usage: node bench/sse-subscribers.mjs <url> <K>\n')
  process.exit(2)
}

const agent = new http.Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY })
const requests = []
let frames = 0
let ready = 0
let failed = false
let closing = false
// `?after=N` in the URL: every connection's first event must be N + 1.
const after = new URL(url).searchParams.get('after')
const firstExpected = after === null ? null : Number(after) + 1
/** Per connection: the first and last `id:` seen, how many ids broke the sequence. */
const seen = []

const progressStep = 1000
const say = (msg) => process.stdout.write(`${JSON.stringify(msg)}\n`)
const fail = (error) => {
  if (failed) return
  failed = true
  say({ error })
}

// At most this many connections wait for their response headers at once: thousands of connects in one go
// overflow the server's listen backlog (connections reset), which is the client's fault, not the relay's.
const connecting = 200
let pending = 0
let next = 0
const openMore = () => {
  while (pending < connecting && next < k && !failed && !closing) {
    pending++
    open(next++)
  }
}
const opened = () => {
  pending--
  openMore()
}

const open = (i) => {
  const req = http.get(url, { agent, headers: { accept: 'text/event-stream' } }, (res) => {
    opened()
    if (res.statusCode !== 200) {
      fail(`subscriber ${i}: HTTP ${res.statusCode}`)
      res.resume()
      return
    }
    res.setEncoding('utf8')
    let got = false
    const ids = { first: -1, last: -1, gaps: 0 }
    seen[i] = ids
    let rest = ''
    res.on('data', (text) => {
      // Frames end with a blank line; keep-alive comments end with one too (one may come before the first event)
      const n = text.split('\n\n').length - text.split(': keep-alive\n\n').length
      frames += n
      if (!stall) {
        // `id: <seq>` lines, split across chunks at any byte
        const lines = (rest + text).split('\n')
        rest = lines.pop()
        for (const line of lines) {
          if (!line.startsWith('id:')) continue
          const id = Number(line.slice(3).trim())
          if (ids.first < 0) ids.first = id
          else if (id !== ids.last + 1) ids.gaps++
          ids.last = id
        }
      }
      if (!got && n > 0) {
        got = true
        if (stall) res.pause()
        if (++ready === k) say({ ready, frames })
        else if (ready % progressStep === 0) say({ progress: ready })
      }
    })
    res.on('error', () => {})
  })
  req.on('error', (err) => {
    if (!closing) fail(`subscriber ${i}: ${err.message}`)
  })
  requests.push(req)
}
openMore()

const close = () => {
  if (closing) return
  closing = true
  for (const req of requests) req.destroy()
  say({ closed: requests.length, frames })
  process.exit(0)
}
const check = async (seq) => {
  const deadline = Date.now() + 60_000
  const behind = () => seen.filter((ids) => ids.last < seq).length
  while (behind() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
  const startWrong = (ids) => firstExpected !== null && ids.first !== firstExpected
  say({
    checked: seq,
    complete: seen.filter((ids) => ids.last >= seq && ids.gaps === 0 && !startWrong(ids)).length,
    behind: behind(),
    gaps: seen.filter((ids) => ids.gaps > 0).length,
    wrongStart: seen.filter(startWrong).length,
  })
}
process.stdin.setEncoding('utf8')
process.stdin.on('data', (text) => {
  const asked = /check (\d+)/.exec(text)
  if (asked) void check(Number(asked[1]))
  if (text.includes('close')) close()
})
process.stdin.on('end', close)
