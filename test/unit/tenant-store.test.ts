import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { tenantStore } from '../../src/core/tenancy/tenant-store.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import { newSession, nodeRecord } from '../contract/store-contract.js'
import { tempDir } from '../support/temp.js'

describe('tenantStore', () => {
  let store: SqliteStore | undefined
  afterEach(async () => {
    await store?.close()
  })

  it("counts only the tenant's own sessions (null: the untenanted ones)", async () => {
    store = new SqliteStore(path.join(tempDir('tenant-store-'), 'gw.db'))
    await store.registerNode(nodeRecord('node_a'))
    await tenantStore(store, 'team-a').createSession(newSession('ses_a1'), 'node_a')
    await tenantStore(store, 'team-a').createSession(newSession('ses_a2', { status: 'running' }), 'node_a')
    await tenantStore(store, 'team-b').createSession(newSession('ses_b1'), 'node_a')
    await tenantStore(store, null).createSession(newSession('ses_n1', { status: 'archived' }), 'node_a')
    expect(await tenantStore(store, 'team-a').countSessions()).toEqual({ idle: 1, running: 1 })
    expect(await tenantStore(store, 'team-b').countSessions()).toEqual({ idle: 1 })
    expect(await tenantStore(store, null).countSessions()).toEqual({ archived: 1 })
    expect(await store.countSessions()).toEqual({ idle: 2, running: 1, archived: 1 })
  })

  it("passes through only the Store members decided as shared, not the store's own extras", async () => {
    store = new SqliteStore(path.join(tempDir('tenant-store-'), 'gw.db'))
    const view = tenantStore(store, 'team-a') as unknown as Record<string, unknown>
    expect(store.file).toMatch(/gw\.db$/)
    expect(view.file).toBeUndefined()
    expect(view.then).toBeUndefined()
    expect(view.kind).toBe('sqlite')
    expect(await (view.ping as () => Promise<boolean>)()).toBe(true)
  })
})
