import { describe, expect, it } from 'vitest'
import { threadParams, threadSettings } from '../../src/agents/codex-app-server/thread-settings.js'
import type { Config } from '../../src/config/load.js'

const config = { CODEX_MODEL: undefined, CODEX_SANDBOX: 'read-only' } as unknown as Config

/** What `thread/start`, `thread/resume` and `thread/fork` name as the thread's approval policy. */
const named = (req: Parameters<typeof threadSettings>[0]) =>
  threadParams(threadSettings(req, config)).approvalPolicy

describe('the approval policy a codex thread is opened with', () => {
  it("names the session's own policy (on-failure as codex's on-request), before the thread's kept one", () => {
    expect(named({ cwd: '/w', approvalPolicy: 'untrusted', agentApprovalPolicy: 'never' })).toBe('untrusted')
    expect(named({ cwd: '/w', approvalPolicy: 'on-failure' })).toBe('on-request')
  })

  it("names the thread's own policy kept in the session when the session has none", () => {
    expect(named({ cwd: '/w', agentApprovalPolicy: 'on-request' })).toBe('on-request')
    const granular = {
      granular: {
        sandbox_approval: true,
        rules: false,
        skill_approval: true,
        request_permissions: false,
        mcp_elicitations: true,
      },
    }
    expect(named({ cwd: '/w', agentApprovalPolicy: granular })).toEqual(granular)
  })

  it('names none when nothing is known (codex picks), or what is kept is no policy codex takes', () => {
    expect(named({ cwd: '/w' })).toBeUndefined()
    expect(named({ cwd: '/w', agentApprovalPolicy: { granular: { rules: true } } })).toBeUndefined()
  })
})
