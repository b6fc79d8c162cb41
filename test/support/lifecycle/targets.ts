import { mkdirSync } from 'node:fs'
import path from 'node:path'
import type { StoredEvent } from '../../../src/protocol/events.js'
import { PostgresStore } from '../../../src/store/postgres/postgres-store.js'
import type { MockLlm } from '../../mock-llm/index.js'
import { gatewayEnv, startGateway } from '../gateway.js'
import { startPostgres, type TestPostgres } from '../postgres.js'
import { type ServerProcess, startServerProcess } from '../server-process.js'

/** Where the stress sends its requests: one gateway on SQLite, or gateway nodes sharing one PostgreSQL. */
export interface StressTarget {
  /** One base URL per node. */
  urls: string[]
  /** The gateway's directory (workspace, data, homes): every process it starts runs below it. */
  dir: string
  /**
   * Its directories (`dir` and its CODEX_HOME): each process the target starts runs below one or carries one in its
   * environment, so a stress tells its processes from those of another running in the same process at once.
   */
  roots: string[]
  /** The URL of the node that owns the session in the store (undefined on one node, or when none does). */
  ownerUrl(sessionId: string): Promise<string | undefined>
  /** The session's events as stored after `seq` (at most 20): what a replay should have given. */
  storedAfter(sessionId: string, seq: number): Promise<StoredEvent[]>
  /**
   * SIGKILLs the node at `url` (gone once this returns): its id in the store. The other nodes are to take its
   * sessions over; only on several nodes.
   */
  kill(url: string): Promise<string>
  /** The id of the node that owns the session in the store, if any. */
  ownerIdOf(sessionId: string): Promise<string | undefined>
  /** The nodes' last log lines (empty for the in-process gateway, which logs nothing). */
  logTail(lines: number): string
  /** Stops every node (and the database server): what went wrong doing so (a node that did not exit 0). */
  close(): Promise<string[]>
}

export type StressStore = 'sqlite' | 'postgres'

/** The stress's own settings on every node: approvals and queues that end in time, short agent kills. */
const stressDefaults = {
  APPROVAL_TIMEOUT_SECONDS: '8',
  MAX_QUEUED_TURNS: '3',
  TIMEOUT_SECONDS: '60',
}

export async function startTarget(
  mock: MockLlm,
  store: StressStore,
  nodes: number,
  /** How many of the nodes take requests only (role api: every session call forwarded to a runner). */
  apiNodes = 0,
  /** Settings over the stress's own (its APPROVAL_TIMEOUT_SECONDS). */
  settings: Record<string, string> = {},
): Promise<StressTarget> {
  const stressEnv = { ...stressDefaults, ...settings }
  if (store === 'sqlite') {
    if (nodes !== 1) throw new Error('several nodes share a PostgreSQL store only: --store postgres')
    const gw = await startGateway(mock, stressEnv)
    return {
      urls: [gw.url],
      dir: gw.dir,
      roots: [gw.dir, gw.env.CODEX_HOME as string],
      ownerUrl: async () => undefined,
      kill: async () => {
        throw new Error('one node: none to kill')
      },
      ownerIdOf: async () => undefined,
      storedAfter: (id, seq) => gw.ctx.store.eventsAfter(id, seq, 20),
      logTail: () => '',
      close: async () => {
        await gw.close()
        return []
      },
    }
  }
  if (apiNodes >= nodes) throw new Error('at least one node must run agents: --api-nodes below --nodes')
  return startPostgresNodes(mock, nodes, apiNodes, stressEnv)
}

/**
 * `count` gateway processes (`serve`, role all, the first `apiNodes` role api) on one throwaway PostgreSQL database, like a cluster behind a load
 * balancer: one workspace and one CODEX_HOME for all (a shared volume), so any node can resume a thread.
 */
async function startPostgresNodes(
  mock: MockLlm,
  count: number,
  apiNodes: number,
  stressEnv: Record<string, string>,
): Promise<StressTarget> {
  const pg: TestPostgres = await startPostgres()
  const nodes: ServerProcess[] = []
  let store: PostgresStore | undefined
  const killed = new Set<ServerProcess>()
  const close = async () => {
    const problems: string[] = []
    for (const node of nodes) {
      const code = await node.stop()
      if (code !== 0 && !killed.has(node))
        problems.push(`node pid ${node.child.pid} exited ${code}:\n${node.output.slice(-30).join('\n')}`)
    }
    await store?.close().catch(() => {})
    await pg.stop()
    return problems
  }
  try {
    const url = await pg.createDatabase()
    store = await PostgresStore.open(url)
    const { env, dir, workspace } = gatewayEnv(mock, {
      ...stressEnv,
      DATABASE_URL: url,
      // as test/e2e/cluster.test.ts: long enough that a node stalled by a loaded machine is not taken for dead, and
      // a killed node's sessions are taken over at the next check (every NODE_TIMEOUT_SECONDS / 5: 2 s, not 6 s;
      // a call in flight to it is given up as soon), which the stress's kill (an even seed) waits for
      NODE_TIMEOUT_SECONDS: '10',
    })
    // one after the other: processes compiling TypeScript at once take long on a busy machine
    for (let i = 0; i < count; i++) {
      const dataDir = path.join(dir, `data-${i}`)
      mkdirSync(dataDir, { recursive: true })
      const role = i < apiNodes ? 'api' : 'all'
      const p = await startServerProcess({ ...env, DATA_DIR: dataDir }, path.dirname(workspace), 90_000, [
        '--role',
        role,
      ])
      if (!('url' in p)) throw new Error(`node ${i} exited ${p.exitCode}:\n${p.output.join('\n')}`)
      nodes.push(p)
    }
    const opened = store
    const urlOfNode = new Map<string, string>()
    const idOfNode = new Map<ServerProcess, string>()
    for (const record of await opened.listNodes()) {
      const node = nodes.find((n) => n.child.pid === record.pid)
      if (node) idOfNode.set(node, record.id)
    }
    return {
      urls: nodes.map((n) => n.url),
      dir,
      roots: [dir, env.CODEX_HOME as string],
      async kill(url) {
        const node = nodes.find((n) => n.url === url)
        const id = node && idOfNode.get(node)
        if (!node || !id) throw new Error(`no node ${url} registered`)
        killed.add(node)
        await node.stop('SIGKILL')
        return id
      },
      ownerIdOf: async (sessionId) => (await opened.ownerOf(sessionId)) ?? undefined,
      async ownerUrl(sessionId) {
        const owner = await opened.ownerOf(sessionId)
        if (!owner) return undefined
        if (!urlOfNode.has(owner))
          for (const record of await opened.listNodes()) {
            const node = nodes.find((n) => n.child.pid === record.pid)
            if (node) urlOfNode.set(record.id, node.url)
          }
        return urlOfNode.get(owner)
      },
      storedAfter: (id, seq) => opened.eventsAfter(id, seq, 20),
      logTail: (lines) =>
        nodes
          .map((n) => `--- node ${n.url} (pid ${n.child.pid}):\n${n.output.slice(-lines).join('\n')}`)
          .join('\n'),
      close,
    }
  } catch (err) {
    await close()
    throw err
  }
}
