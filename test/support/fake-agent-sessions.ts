import fs from 'node:fs'
import path from 'node:path'
import { afterEach } from 'vitest'
import type { AgentRegistry } from '../../src/agents/registry.js'
import type { AgentSession, SessionHooks } from '../../src/agents/session.js'
import { loadConfig } from '../../src/config/load.js'
import { ActiveRuns } from '../../src/core/active-runs.js'
import { EventLog } from '../../src/core/event-log.js'
import { SessionManager } from '../../src/core/session-manager.js'
import type { Redactor } from '../../src/process/secrets.js'
import type { AgentEvent } from '../../src/protocol/events.js'
import type { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import type { Store } from '../../src/store/store.js'
import { newSession, nodeRecord } from '../contract/store-contract.js'
import { removeDir, tempDir } from './temp.js'

const dirs: string[] = []
const stores: SqliteStore[] = []

/** Closes the stores and removes the dirs `sessionsOnFakeAgent` made, after each test (call at a file's top). */
export function cleanUpFakeAgentSessions(): void {
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close()
    for (const d of dirs.splice(0)) removeDir(d)
  })
}

/** A session agent whose turn yields `events`, as a driver does. */
export const agentYielding = (events: AgentEvent[]): AgentSession =>
  ({
    async *turn() {
      yield* events
    },
  }) as unknown as AgentSession

/** A temp dir removed after the test, with the others `cleanUpFakeAgentSessions` removes. */
export function tempDirForTest(prefix: string): string {
  const dir = tempDir(prefix)
  dirs.push(dir)
  return dir
}

/**
 * A SessionManager of node_a on a fresh store (nodes node_a and node_b registered) that holds session ses_a of the
 * agent 'fake' in a project of the workspace root; its driver opens and resumes the session agents `open` and
 * `resume` give (either may throw: the open or resume fails). The store is `makeStore`'s on a SQLite file of the
 * test's dir (closed after the test), or `store`, one the test opened and closes (a PostgreSQL one).
 */
export async function sessionsOnFakeAgent<S extends Store>(
  options: {
    dirPrefix: string
    /** `hooks`: what the agent asks of the gateway while it works (approvals). */
    open: (hooks: SessionHooks) => AgentSession
    resume: (agentSessionId: string, hooks: SessionHooks) => AgentSession
    sessionFields?: Parameters<typeof newSession>[1]
    /** SESSION_IDLE_SECONDS (0, the default here: idle sessions are never unloaded). */
    idleSeconds?: number
    /** The secrets the log redacts (none by default). */
    redactor?: Redactor
    /** Further settings (e.g. KILL_GRACE_MS and FORCE_END_AFTER_MS, which bound how long a turn's end waits). */
    settings?: Record<string, string>
  } & ({ makeStore: (file: string) => S & SqliteStore } | { store: S }),
) {
  const dir = tempDirForTest(options.dirPrefix)
  const config = loadConfig(
    { SESSION_IDLE_SECONDS: String(options.idleSeconds ?? 0), ...options.settings },
    dir,
  )
  const cwd = path.join(config.workspaceRoots[0]!, 'project')
  fs.mkdirSync(cwd, { recursive: true })
  let store: S
  if ('store' in options) store = options.store
  else {
    const made = options.makeStore(path.join(dir, 'gw.db'))
    stores.push(made)
    store = made
  }
  await store.registerNode(nodeRecord('node_a'))
  await store.registerNode(nodeRecord('node_b'))
  await store.createSession(newSession('ses_a', { cwd, agent: 'fake', ...options.sessionFields }), 'node_a')
  const driver = {
    id: 'fake',
    probe: async () => ({ installed: true, authenticated: true }),
    openSession: async (_req: unknown, hooks: SessionHooks) => options.open(hooks),
    resumeSession: async (agentSessionId: string, _req: unknown, hooks: SessionHooks) =>
      options.resume(agentSessionId, hooks),
  }
  const registry = { get: () => driver, find: () => driver, list: () => [driver] } as unknown as AgentRegistry
  const log = new EventLog(store, undefined, options.redactor)
  const active = new ActiveRuns()
  const sessions = new SessionManager(store, log, registry, config, active, 'node_a')
  return { store, log, sessions, cwd, config, active }
}
