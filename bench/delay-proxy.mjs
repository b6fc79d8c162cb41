// A TCP proxy on 127.0.0.1 that holds every chunk `latency` ms in each direction (at least: Node's timers), a
// server twice that of round trip away (a database across a network), for benches (bench/pg-session-turns.ts
// --pg-latency-ms). A process of its own, so that its timers do not run on the measured gateway's event loop.
// Usage: node bench/delay-proxy.mjs <target host> <target port> <latency ms>; prints its port on stdout, ends on
// SIGTERM or when its stdin closes.
import net from 'node:net'

const [host, port, latency] = process.argv.slice(2)
const delay = Number(latency)
const open = new Set()
// chunks of one direction, each sent `latency` ms after it came (equal delays: timers fire in order)
const relay = (from, to) => from.on('data', (chunk) => setTimeout(() => to.write(chunk), delay))
const server = net.createServer((client) => {
  const upstream = net.connect(Number(port), host)
  for (const s of [client, upstream]) {
    open.add(s)
    s.on('error', () => {})
    s.on('close', () => {
      open.delete(s)
      // the other end once what is held for it is sent
      setTimeout(() => (s === client ? upstream : client).end(), delay)
    })
  }
  client.setNoDelay(true)
  upstream.setNoDelay(true)
  relay(client, upstream)
  relay(upstream, client)
})
server.listen(0, '127.0.0.1', () => console.log(server.address().port))
const stop = () => {
  for (const s of open) s.destroy()
  server.close()
  process.exit(0)
}
process.on('SIGTERM', stop)
process.stdin.on('end', stop)
process.stdin.resume()
