import { type MessagePort, parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads'
import type { EgressSettings } from './egress.js'
import type { ModelProvider } from './provider-auth.js'
import { ProxyServer, type Upstream } from './proxy-server.js'
import { tokenDigest } from './tokens.js'

/** A token's digest became live for a provider, or (no provider) was revoked. */
export interface TokenChange {
  digest: string
  provider?: ModelProvider
}

export interface ThreadData {
  upstreams: Upstream[]
  /** The port to listen on (0: any; a restarted thread takes its predecessor's, which agents hold). */
  port: number
  /** Every token live when the thread was started, by digest. */
  live: Array<[string, ModelProvider]>
  /** Where later changes come (key-proxy.ts posts each before it returns). */
  changes: MessagePort
  /** The server's egress proxy, which upstream calls go through. */
  egress?: EgressSettings
}

export type ThreadReport = { type: 'listening'; port: number } | { type: 'closed' }

/**
 * The key proxy's thread: it serves (proxy-server.ts) off the gateway's event loop, so a model call's hops do not
 * wait behind a turn's events and commits, nor they behind it. Before each token check it takes the changes
 * waiting on its port at once (receiveMessageOnPort): a token the gateway minted before it spawned an agent is
 * live for that agent's first call, one it revoked is refused, with no round trip between the threads.
 */
const data = workerData as ThreadData
const live = new Map(data.live)
const apply = (change: TokenChange) => {
  if (change.provider) live.set(change.digest, change.provider)
  else live.delete(change.digest)
}
const takeChanges = () => {
  for (let m = receiveMessageOnPort(data.changes); m; m = receiveMessageOnPort(data.changes))
    apply(m.message as TokenChange)
}
data.changes.on('message', apply)

const server = await ProxyServer.listen(
  data.upstreams,
  (token) => {
    takeChanges()
    return live.get(tokenDigest(token))
  },
  data.port,
  data.egress,
)
const report = (r: ThreadReport) => parentPort?.postMessage(r)
parentPort?.on('message', (m: unknown) => {
  if (m !== 'close') return
  void server.close().then(() => {
    data.changes.close()
    report({ type: 'closed' })
    parentPort?.close()
  })
})
report({ type: 'listening', port: server.port })
