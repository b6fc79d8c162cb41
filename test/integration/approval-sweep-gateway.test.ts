import { describe, expect, it } from 'vitest'
import { sweptBy } from '../../src/core/approval-sweep.js'
import type { Approval } from '../../src/protocol/sessions.js'
import { newSession, newTurn } from '../contract/store-contract.js'
import { gatewayModules, startGateway } from '../support/gateway.js'
import { parsePrometheus, sample } from '../support/prometheus.js'

gatewayModules()

/**
 * The gateway runs the approval sweep (core/approval-sweep.ts) on its own, every APPROVAL_TIMEOUT_SECONDS / 2
 * (5 s at least): an approval left pending by a turn that ended, its session `waiting_for_approval` (what the
 * cluster stress saw once, seed 84), is cancelled and announced, the session is idle again, and the metric counts
 * it. The pieces are tested in approval-sweep.test.ts; this is the wiring.
 */
describe('the gateway sweeps approvals nobody can answer any more', () => {
  it('cancels one its ended turn left pending, announces it, and the session is idle again', async () => {
    const gw = await startGateway(null, { AGENTS: 'codex', APPROVAL_TIMEOUT_SECONDS: '1' })
    try {
      const { store, node } = gw.ctx
      const long = new Date(Date.now() - 60_000).toISOString()
      const at = { createdAt: long, updatedAt: long }
      await store.createSession(
        newSession('ses_stuck', { cwd: gw.workspace, status: 'waiting_for_approval', ...at }),
        node.id,
      )
      await store.createTurn(newTurn('turn_ended', 'ses_stuck', { status: 'completed', createdAt: long }))
      const left: Approval = {
        id: 'apr_left',
        sessionId: 'ses_stuck',
        turnId: 'turn_ended',
        kind: 'command',
        command: 'make',
        cwd: gw.workspace,
        changes: null,
        reason: null,
        options: ['accept', 'decline', 'cancel'],
        state: 'pending',
        decision: null,
        by: null,
        createdAt: long,
        resolvedAt: null,
        expiresAt: long,
      }
      // the sweep's answer and the state it leads to, as they are stored (and sent to the session's followers)
      const seen: [string, string][] = []
      const idle = new Promise<void>((resolve) =>
        gw.ctx.tapEvents((ev) => {
          if (ev.sessionId !== 'ses_stuck') return
          if (ev.type === 'approval.resolved') seen.push([ev.type, ev.by])
          if (ev.type === 'session.status') {
            seen.push([ev.type, ev.status])
            resolve()
          }
        }),
      )
      await store.createApproval(left)
      await idle
      expect(seen).toEqual([
        ['approval.resolved', sweptBy],
        ['session.status', 'idle'],
      ])
      expect(await store.getApproval('apr_left')).toMatchObject({ state: 'resolved', decision: 'cancel' })
      expect(await store.getSession('ses_stuck')).toMatchObject({ status: 'idle' })
      const metrics = parsePrometheus(await (await fetch(`${gw.url}/metrics`)).text())
      expect(sample(metrics, 'agent_gateway_approvals_swept_total')).toBe(1)
    } finally {
      await gw.close()
    }
  })
})
