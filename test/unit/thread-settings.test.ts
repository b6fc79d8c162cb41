import { describe, expect, it } from 'vitest'
import { threadParams, threadSettings } from '../../src/agents/codex-app-server/thread-settings.js'
import type { Config } from '../../src/config/load.js'

const config = {
  CODEX_MODEL: undefined,
  CODEX_SANDBOX: 'read-only',
  ALLOW_DANGER_FULL_ACCESS: false,
} as unknown as Config

/** What `thread/start`, `thread/resume` and `thread/fork` name as the thread's approval policy. */
const named = (req: Parameters<typeof threadSettings>[0], settings: Config = config) =>
  threadParams(threadSettings(req, settings)).approvalPolicy

/** codex's on-request without the model's unsandboxed runs (held-sandbox.ts). */
const onRequestHeld = {
  granular: {
    sandbox_approval: false,
    rules: true,
    skill_approval: true,
    request_permissions: false,
    mcp_elicitations: true,
  },
}

describe('the approval policy a codex thread is opened with', () => {
  it("names the session's own policy (on-failure as codex's on-request), before the thread's kept one", () => {
    expect(named({ cwd: '/w', approvalPolicy: 'untrusted', agentApprovalPolicy: 'never' })).toBe('untrusted')
    expect(named({ cwd: '/w', approvalPolicy: 'on-failure', sandbox: 'danger-full-access' })).toBe(
      'on-request',
    )
  })

  it('names on-request (and on-failure) without unsandboxed runs unless the sandbox is none or may be', () => {
    for (const approvalPolicy of ['on-request', 'on-failure'] as const) {
      expect(named({ cwd: '/w', approvalPolicy })).toEqual(onRequestHeld)
      expect(named({ cwd: '/w', approvalPolicy, sandbox: 'workspace-write' })).toEqual(onRequestHeld)
      expect(named({ cwd: '/w', approvalPolicy, sandbox: 'danger-full-access' })).toBe('on-request')
      const allowed = { ...config, ALLOW_DANGER_FULL_ACCESS: true } as Config
      expect(named({ cwd: '/w', approvalPolicy, sandbox: 'workspace-write' }, allowed)).toBe('on-request')
    }
    // never and untrusted as they are (never refuses escalations itself)
    expect(named({ cwd: '/w', approvalPolicy: 'never' })).toBe('never')
    expect(named({ cwd: '/w', approvalPolicy: 'untrusted' })).toBe('untrusted')
  })

  it("names the thread's own policy kept in the session when the session has none", () => {
    expect(named({ cwd: '/w', agentApprovalPolicy: 'on-request', sandbox: 'danger-full-access' })).toBe(
      'on-request',
    )
    expect(named({ cwd: '/w', agentApprovalPolicy: 'on-request' })).toEqual(onRequestHeld)
    const granular = {
      granular: {
        sandbox_approval: true,
        rules: false,
        skill_approval: true,
        request_permissions: false,
        mcp_elicitations: true,
      },
    }
    expect(named({ cwd: '/w', agentApprovalPolicy: granular, sandbox: 'danger-full-access' })).toEqual(
      granular,
    )
    // a granular policy of codex's own that asks for escalations asks for none in a sandbox that must hold
    expect(named({ cwd: '/w', agentApprovalPolicy: granular })).toEqual({
      granular: { ...granular.granular, sandbox_approval: false },
    })
  })

  it('names none when nothing is known (codex picks), or what is kept is no policy codex takes', () => {
    expect(named({ cwd: '/w' })).toBeUndefined()
    expect(named({ cwd: '/w', agentApprovalPolicy: { granular: { rules: true } } })).toBeUndefined()
  })
})

// codex retries a command its sandbox denied without the sandbox, unasked, once accepted under `untrusted` (codex
// 0.171: under no other policy); it never does for a profile with a denied read (read-profiles.ts
// sessionProfiles). Before (main), a thread kept codex's `sandbox` mode unless reads were confined (an accepted write
// outside the workspace was written); in between (h58-untrusted) every session thread ran the profile, which costs
// codex its sandboxed file lookups at every turn.
describe('threadParams: the sandbox a thread runs', () => {
  const settingsOf = (
    req: Parameters<typeof threadSettings>[0],
    settings: Partial<Config> = {},
    asks = true,
  ) => threadSettings(req, { ...config, ...settings } as Config, asks)
  const sandboxOf = (
    req: Parameters<typeof threadSettings>[0],
    settings: Partial<Config> = {},
    asks = true,
  ) => {
    const { sandbox, permissions } = threadParams(settingsOf(req, settings, asks))
    return { sandbox, permissions }
  }

  it("an `untrusted` thread (the session's policy, or the thread's own kept) selects the profile with the denied read", () => {
    for (const CODEX_CONFINE_READS of [false, true]) {
      expect(
        sandboxOf(
          { cwd: '/w', sandbox: 'workspace-write', approvalPolicy: 'untrusted' },
          { CODEX_CONFINE_READS },
        ),
      ).toEqual({ sandbox: undefined, permissions: 'agent-gateway-workspace-write' })
      expect(sandboxOf({ cwd: '/w', approvalPolicy: 'untrusted' }, { CODEX_CONFINE_READS })).toEqual({
        sandbox: undefined,
        permissions: 'agent-gateway-read-only',
      })
    }
    expect(sandboxOf({ cwd: '/w', agentApprovalPolicy: 'untrusted' })).toEqual({
      sandbox: undefined,
      permissions: 'agent-gateway-read-only',
    })
  })

  it("a thread of another policy keeps codex's sandbox mode, and names the profile an `untrusted` turn reopens it with", () => {
    for (const approvalPolicy of ['on-request', 'on-failure', 'never', undefined] as const) {
      const req = {
        cwd: '/w',
        sandbox: 'workspace-write' as const,
        ...(approvalPolicy ? { approvalPolicy } : {}),
      }
      expect(sandboxOf(req)).toEqual({ sandbox: 'workspace-write', permissions: undefined })
      expect(settingsOf(req).untrustedPermissions).toBe('agent-gateway-workspace-write')
    }
    expect(sandboxOf({ cwd: '/w', agentApprovalPolicy: 'on-request' })).toEqual({
      sandbox: 'read-only',
      permissions: undefined,
    })
    // reads confined: every thread runs the read-confining profile, whatever its policy
    expect(sandboxOf({ cwd: '/w', approvalPolicy: 'on-request' }, { CODEX_CONFINE_READS: true })).toEqual({
      sandbox: undefined,
      permissions: 'agent-gateway-read-only',
    })
    expect(
      settingsOf({ cwd: '/w', approvalPolicy: 'on-request' }, { CODEX_CONFINE_READS: true }),
    ).not.toHaveProperty('untrustedPermissions')
  })

  it("keeps codex's sandbox mode for danger-full-access, in a container, and with ALLOW_DANGER_FULL_ACCESS", () => {
    const untrusted = { cwd: '/w', approvalPolicy: 'untrusted' } as const
    expect(sandboxOf({ ...untrusted, sandbox: 'danger-full-access' })).toEqual({
      sandbox: 'danger-full-access',
      permissions: undefined,
    })
    expect(sandboxOf({ ...untrusted, sandbox: 'workspace-write', isolation: 'container' })).toEqual({
      sandbox: 'workspace-write',
      permissions: undefined,
    })
    expect(
      sandboxOf({ ...untrusted, sandbox: 'workspace-write' }, { ALLOW_DANGER_FULL_ACCESS: true }),
    ).toEqual({
      sandbox: 'workspace-write',
      permissions: undefined,
    })
    for (const req of [
      { ...untrusted, sandbox: 'danger-full-access' as const, approvalPolicy: 'on-request' as const },
      {
        ...untrusted,
        sandbox: 'workspace-write' as const,
        isolation: 'container' as const,
        approvalPolicy: 'on-request' as const,
      },
    ])
      expect(settingsOf(req)).not.toHaveProperty('untrustedPermissions')
  })

  it('a warm run (it never asks: no retry) keeps the sandbox mode unless reads are confined', () => {
    expect(sandboxOf({ cwd: '/w', sandbox: 'workspace-write' }, {}, false)).toEqual({
      sandbox: 'workspace-write',
      permissions: undefined,
    })
    expect(settingsOf({ cwd: '/w', sandbox: 'workspace-write' }, {}, false)).not.toHaveProperty(
      'untrustedPermissions',
    )
    expect(
      sandboxOf({ cwd: '/w', sandbox: 'workspace-write' }, { CODEX_CONFINE_READS: true }, false),
    ).toEqual({
      sandbox: undefined,
      permissions: 'agent-gateway-workspace-write',
    })
  })
})
