import { describe, expect, it } from 'vitest'
import type { Session } from '../../src/protocol/sessions.js'
import { postJson, sharedGateway } from '../support/gateway.js'
import { spawnedFrom, waitUntilGone } from '../support/processes.js'

/** A gateway's own node, taken for dead by the cluster (marked lost), asked for a new session over HTTP. */
describe('POST /v1/sessions on a node marked lost', () => {
  const shared = sharedGateway()
  const appServers = () => spawnedFrom().filter((p) => p.cmd.includes('app-server'))

  it('a single gateway is a member from its start: it creates sessions', async () => {
    const { gw } = shared
    expect((await gw.ctx.store.listNodes()).map((n) => n.id)).toEqual([gw.ctx.node.id])
    const res = await postJson(`${gw.url}/v1/sessions`, {})
    expect(res.status).toBe(201)
    expect(await gw.ctx.store.ownerOf(((await res.json()) as Session).id)).toBe(gw.ctx.node.id)
  })

  it('answers 503 worker_unavailable with a retry hint, stores nothing and closes the agent it opened', async () => {
    const { gw } = shared
    const before = (await gw.ctx.store.listSessions({ limit: 100 })).length
    const agentsBefore = new Set(appServers().map((p) => p.pid))
    // what another node's recovery does first when it takes this node for dead (NodeMembership.recoverLost)
    await gw.ctx.store.markNodesLost([gw.ctx.node.id], new Date().toISOString())
    const res = await postJson(`${gw.url}/v1/sessions`, {})
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBe('2')
    expect(await res.json()).toMatchObject({
      error: { code: 'worker_unavailable', message: expect.stringMatching(/taken for dead.*retry/) },
    })
    expect(await gw.ctx.store.listSessions({ limit: 100 })).toHaveLength(before)
    expect(await waitUntilGone(() => appServers().filter((p) => !agentsBefore.has(p.pid)))).toEqual([])
  })
})
