import { existsSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServer } from '../../src/http/server.js'
import type { Session, Turn } from '../../src/protocol/sessions.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { gatewayModules, postJson, startGateway } from '../support/gateway.js'

gatewayModules()

/**
 * `danger-full-access` needs the operator's consent (ALLOW_DANGER_FULL_ACCESS) at creation, and that rule holds
 * for each turn: while it holds, a turn may name `never` on an `untrusted` session (creation takes that
 * combination too: no coupling of sandbox and approval policy exists to apply per turn); once the operator
 * withdrew it (a restart without it), the session's turns are refused (400) whatever policy they name, and the
 * model is never called. The real codex against the mock model, over a real socket.
 */
describe('a danger-full-access session across the operator withdrawing ALLOW_DANGER_FULL_ACCESS', () => {
  let mock: MockLlm
  beforeAll(async () => {
    mock = await startMockLlm()
  })
  afterAll(async () => {
    await mock?.close()
  })

  it('runs a never turn while allowed; refuses every turn and a fork (400, forbidden_argument) once not', async () => {
    const first = await startGateway(mock, { ALLOW_DANGER_FULL_ACCESS: 'true' })
    let session: Session
    try {
      const res = await postJson(`${first.url}/v1/sessions`, {
        sandbox: 'danger-full-access',
        approvalPolicy: 'untrusted',
      })
      session = (await res.json()) as Session
      expect(res.status, JSON.stringify(session)).toBe(201)
      mock.script({ kind: 'exec_command', cmd: 'echo free > free.txt' }, { kind: 'text', text: 'wrote it' })
      const turn = (await (
        await postJson(`${first.url}/v1/sessions/${session.id}/turns?wait=true`, {
          input: 'write it',
          approvalPolicy: 'never',
        })
      ).json()) as Turn
      expect(turn).toMatchObject({ status: 'completed', approvalPolicy: 'never' })
      expect(existsSync(path.join(session.cwd, 'free.txt'))).toBe(true)
    } finally {
      await first.close()
    }
    mock.reset()

    const env = { ...first.env, ALLOW_DANGER_FULL_ACCESS: undefined }
    const second = await startServer({ env, cwd: first.dir, logger: false })
    try {
      for (const body of [{ input: 'again', approvalPolicy: 'never' }, { input: 'again' }]) {
        const res = await postJson(`${second.url}/v1/sessions/${session.id}/turns`, body)
        const answer = (await res.json()) as { error: { code: string; message: string } }
        expect(res.status, JSON.stringify(answer)).toBe(400)
        expect(answer.error.code).toBe('forbidden_argument')
        expect(answer.error.message).toContain('ALLOW_DANGER_FULL_ACCESS')
      }
      // a fork is a new session with that sandbox: refused the same way (a fork held live would run its turns)
      const fork = await postJson(`${second.url}/v1/sessions/${session.id}/fork`, {})
      expect(fork.status).toBe(400)
      expect(((await fork.json()) as { error: { code: string } }).error.code).toBe('forbidden_argument')
      expect(mock.requests).toHaveLength(0)
      const read = (await (await fetch(`${second.url}/v1/sessions/${session.id}`)).json()) as Session & {
        turns: Turn[]
      }
      expect(read.turns).toHaveLength(1)
    } finally {
      await second.close()
    }
  })
})
