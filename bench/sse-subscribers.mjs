#!/usr/bin/env node
/**
 * Holds K SSE connections to one URL open, for bench/event-relay.ts's memory measurement. It runs in its
 * own process so the client side of the connections does not count in the gateway's memory.
 *
 * Usage: node bench/sse-subscribers.mjs <url> <K> [stall]
 * With `stall`, each connection stops reading once it got its first event (a slow reader: its socket's buffers
 * fill, then the server's).
 * Prints one JSON line to stdout when every connection has received at least one event
 * ({"ready":K,"frames":n}), or {"error":...} on the first failure. Closing its stdin (or a line "close")
 * destroys every connection; it then prints {"closed":K,"frames":n} and exits 0.
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
    let seen = false
    res.on('data', (text) => {
      // Frames end with a blank line; keep-alive comments end with one too, but none come this soon.
      const n = text.split('\n\n').length - 1
      frames += n
      if (!seen && n > 0) {
        seen = true
        if (stall) res.pause()
        if (++ready === k) say({ ready, frames })
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
process.stdin.setEncoding('utf8')
process.stdin.on('data', (text) => {
  if (text.includes('close')) close()
})
process.stdin.on('end', close)
