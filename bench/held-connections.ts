/**
 * Memory a gateway spends per connection a client holds open without finishing its request, and how long it
 * holds it (`npx tsx bench/held-connections.ts [--connections N] [--baseline <checkout>]`).
 *
 * The gateway runs in a process of its own (bench/gateway-process.ts). For each kind of held connection, N raw
 * TCP clients from 127.0.0.1 (exempt from MAX_CONNECTIONS_PER_CLIENT by default) open a connection and send:
 *   head   the start of a request head, never its end (a slowloris)
 *   body   a whole head of a POST /v1/runs with Content-Length 2000 and 1000 bytes of its body, then nothing
 * The gateway's memory (RSS, V8 heap and external memory, after full GCs) is read before and after, once the
 * server answered a request sent after all of them. With --baseline the same runs against another checkout's gateway (e.g. main).
 * The timeouts are raised for the measurement so that nothing is cut while it runs; the default timeouts are
 * what `cut after` reports.
 */

import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { BenchError, benchArgs, intOption } from './options.js'

const { values } = benchArgs({
  options: { connections: { type: 'string' }, baseline: { type: 'string' } },
})
const connections = intOption(values.connections, 1000, 'connections')
const kinds = ['head', 'body'] as const
type Kind = (typeof kinds)[number]

const bodyHead =
  'POST /v1/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2000\r\n\r\n'
const partial: Record<Kind, string> = {
  head: 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n',
  body: `${bodyHead}{"x":"${'a'.repeat(1000 - 6)}`,
}

interface Memory {
  rss: number
  heapUsed: number
  external: number
}

/** One GET /health on a fresh connection: the server has handled what arrived before it. */
function health(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () =>
      s.end('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'),
    )
    s.on('error', reject)
    s.resume()
    s.on('close', () => resolve())
  })
}

async function measure(root: string, kind: Kind): Promise<{ before: Memory; after: Memory }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'held-'))
  const child = spawn(
    process.execPath,
    [
      '--expose-gc',
      '--import',
      import.meta.resolve('tsx'),
      path.join(import.meta.dirname, 'gateway-process.ts'),
    ],
    {
      cwd: dir,
      env: {
        ...process.env,
        AGW_BENCH_GATEWAY_ROOT: root,
        HOST: '127.0.0.1',
        PORT: '0',
        LOG_LEVEL: 'silent',
        DATA_DIR: path.join(dir, 'data'),
        WORKSPACE_DIR: path.join(dir, 'workspace'),
        MAX_CONNECTIONS: String(connections + 100),
        HEADERS_TIMEOUT_SECONDS: '300',
        BODY_IDLE_SECONDS: '300',
        BODY_MIN_BYTES_PER_SECOND: '0',
      },
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  )
  const sockets: net.Socket[] = []
  try {
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]()
    const first = await lines.next()
    if (first.done) throw new BenchError('bench/gateway-process.ts exited before it listened')
    const { url } = JSON.parse(String(first.value)) as { url: string }
    const port = Number(new URL(url).port)
    const memory = async (): Promise<Memory> => {
      child.stdin!.write('memory\n')
      const line = await lines.next()
      if (line.done) throw new BenchError('bench/gateway-process.ts exited')
      return JSON.parse(String(line.value)) as Memory
    }
    // warm up: the routes, the parser and the error path are loaded before the first reading
    for (let i = 0; i < 20; i++) await health(port)
    const before = await memory()
    for (let i = 0; i < connections; i++) {
      const s = net.connect({ host: '127.0.0.1', port })
      s.on('error', () => {})
      s.once('connect', () => s.write(partial[kind]))
      sockets.push(s)
    }
    await Promise.all(sockets.map((s) => new Promise((resolve) => s.once('connect', resolve))))
    await health(port)
    await health(port)
    return { before, after: await memory() }
  } finally {
    for (const s of sockets) s.destroy()
    child.stdin!.end()
    await new Promise((resolve) => child.once('exit', resolve))
    rmSync(dir, { recursive: true, force: true })
  }
}

try {
  const roots: [string, string][] = [['this checkout', path.join(import.meta.dirname, '..')]]
  if (values.baseline) roots.push(['baseline', path.resolve(values.baseline)])
  console.log(`agent-gateway: memory per held connection (${connections} held, RSS of the gateway process)\n`)
  console.log(
    '| gateway | held connection | RSS KB per connection | heap KB per connection | external KB per connection |',
  )
  console.log('|---|---|---|---|---|')
  for (const [name, root] of roots)
    for (const kind of kinds) {
      const m = await measure(root, kind)
      const per = (k: keyof Memory) => ((m.after[k] - m.before[k]) / 1024 / connections).toFixed(1)
      console.log(`| ${name} | ${kind} | ${per('rss')} | ${per('heapUsed')} | ${per('external')} |`)
    }
} catch (err) {
  if (err instanceof BenchError) {
    console.error(err.message)
    process.exit(2)
  }
  throw err
}
